"""`leadops run` shows its progress: elsewhere than a terminal (here: captured, as under cron or CI)
one line per finished step on stderr with its seconds and rows, the report on stdout as before;
with --quiet, no progress at all."""

import re
from datetime import date

import dagster as dg
import pytest

from cli import refresh
from cli.main import main
from leadops.demo_data import generate

AS_OF = "2026-06-29"
pytestmark = pytest.mark.integration


def test_a_run_prints_a_line_per_finished_step_and_a_quiet_run_none(tmp_path, monkeypatch, capsys):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    summary = generate(landing, leads=300, seed=11, end_date=date.fromisoformat(AS_OF))
    instances = []
    monkeypatch.setattr(refresh, "_instance", lambda: instances.append(dg.DagsterInstance.ephemeral()) or instances[-1])
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    command = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF]
    capsys.readouterr()

    assert main(command) == 0
    shown = capsys.readouterr()
    assert main([*command, "--quiet"]) == 0
    quiet = capsys.readouterr()

    lines = [line for line in shown.err.splitlines() if line.startswith("step ")]
    (run,) = instances[0].get_runs()
    finished = instances[0].get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    assert [line.split()[1] for line in lines] == [r.event_log_entry.dagster_event.step_key for r in finished]
    assert all(re.fullmatch(r"step \S+ finished in \d+\.\d s(, .+)?", line) for line in lines)
    by_step = {line.split()[1]: line.split(" s", 1)[1] for line in lines}
    assert by_step["raw__leads"] == ", 300 rows"
    assert by_step["raw__activity"] == f", {summary.events:,} rows"
    assert re.fullmatch(r", \d+ models, [\d,]+ rows", by_step["leadops_dbt_models"])
    assert not any(line.startswith("step ") for line in shown.out.splitlines())  # the report stays clean
    assert shown.out.startswith("raw/accounts: 1 file(s) loaded")
    assert "Leads per segment as of" in shown.out

    assert not any(line.startswith("step ") for line in quiet.err.splitlines() + quiet.out.splitlines())
