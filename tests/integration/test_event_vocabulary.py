"""Event types beyond the contract's: a source mapping declares product usage (`feature_used`,
`workspace_created`) for product-qualified leads, its feeds load them, and scoring.yml weights them;
a rule on a type no configured source produces is refused by name, and an undeclared type is
quarantined with its value."""

import contextlib
import io
from pathlib import Path

import duckdb
import pytest
import yaml

from cli.main import main

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-06-30"

MAPPING = """
name: product-led
event_types: [feature_used, workspace_created]
feeds:
  - folder: leads
    into: leads
  - folder: product
    into: activity
    columns:
      event_id: id
      lead_id: user
      event_type: {column: name, values: {Feature Used: feature_used}}
      occurred_at: at
"""


def scoring_with(tmp_path: Path, rules: list[dict]) -> Path:
    config = yaml.safe_load((ROOT / "scoring.yml").read_text())
    config["engagement"]["rules"] += rules
    config["engagement"]["group_caps"]["product"] = 40
    path = tmp_path / "scoring.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run(tmp_path: Path, config: Path) -> tuple[int, str, Path]:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    (landing / "leads").mkdir(parents=True, exist_ok=True)
    (landing / "product").mkdir(exist_ok=True)
    (landing / "leads" / "users.csv").write_text(
        "lead_id,email,created_at\nU1,ann@acme.io,2026-06-01\nU2,bob@beta.io,2026-06-01\n"
    )
    (landing / "product" / "events.csv").write_text(
        "id,user,name,at\n"
        "e1,U1,Feature Used,2026-06-28 10:00\n"
        "e2,U1,workspace_created,2026-06-27 10:00\n"
        "e3,U2,invited_teammate,2026-06-28 10:00\n"  # declared nowhere
    )
    (tmp_path / "mapping.yml").write_text(MAPPING)
    command = ["run", "--source", str(tmp_path / "mapping.yml"), "--landing", str(landing)]
    command += ["--warehouse", str(warehouse), "--config", str(config), "--as-of", AS_OF]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main(command)
    return code, output.getvalue(), warehouse


def test_declared_product_events_are_loaded_and_weighted(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    rules = [
        {"name": "feature_used", "event_type": "feature_used", "points": 12, "max_points": 24, "group": "product"},
        {"name": "workspace", "event_type": "workspace_created", "points": 20, "max_points": 20, "group": "product"},
    ]
    code, output, warehouse = run(tmp_path, scoring_with(tmp_path, rules))

    assert code == 0, output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select event_id, event_type from raw.activity order by 1").fetchall() == [
            ("e1", "feature_used"),
            ("e2", "workspace_created"),
        ]
        (reason,) = con.execute("select reason from raw.quarantine").fetchone()
        points = dict(
            con.execute(
                "select factor, round(sum(points), 2) from marts.lead_score_factors "
                "where lead_id = 'U1' and factor in ('feature_used', 'workspace') group by 1"
            ).fetchall()
        )
    assert "invited_teammate" in reason
    assert set(points) == {"feature_used", "workspace"} and all(p > 0 for p in points.values())


def test_a_rule_on_a_type_no_source_produces_is_refused_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    rules = [{"name": "calls", "event_type": "call", "points": 5, "group": "product"}]
    code, output, _ = run(tmp_path, scoring_with(tmp_path, rules))

    assert code == 2
    assert "'call' is not an event type of the input contract or the source mapping" in output
    assert "feature_used, workspace_created" in output
