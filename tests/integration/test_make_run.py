"""`make run`, the first thing a new user types, on the demo data: it ends with a trained model, so
the first `leadops explain` shows the model's probability instead of "fallback to the rules"."""

import subprocess
from pathlib import Path

import duckdb
import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_make_run_trains_when_the_data_allows_it(tmp_path, capsys, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    make = [
        "make",
        "-C",
        str(ROOT),
        # The venv and the dbt manifest are the suite's; this test is about the run target.
        "-o",
        ".venv/.installed",
        "-o",
        "prepare",
        "run",
        f"LANDING={tmp_path / 'landing'}",
        f"WAREHOUSE={warehouse}",
        f"DAGSTER_HOME={tmp_path / 'dagster'}",
        "DEMO_LEADS=2500",  # about 150 training conversions, above predictive.min_conversions (100)
    ]
    done = subprocess.run(make, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "holdout ROC-AUC" in done.stdout

    with duckdb.connect(str(warehouse), read_only=True) as con:
        scored, predicted = con.execute(
            "select (select count(*) from marts.lead_scores), (select count(*) from marts.lead_predictions)"
        ).fetchone()
        (lead,) = con.execute("select min(lead_id) from marts.lead_scores").fetchone()
    assert scored == 2500 and predicted == scored
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    capsys.readouterr()
    assert main(["explain", lead, "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "conversion probability" in out and "fallback" not in out

    # A second `make run` keeps the model it has: the weekly retrain replaces it.
    assert main(["train", "--warehouse", str(warehouse), "--if-untrained"]) == 0
    assert "already trained" in capsys.readouterr().out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.model_versions").fetchone() == (1,)
