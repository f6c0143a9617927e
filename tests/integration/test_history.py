"""History: each run writes its own date; changing the rules rescores now, past dates only when asked."""

from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from cli.main import main
from leadops.demo_data import generate

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HISTORY_OF = "select lead_id, score, segment, is_hot from marts.lead_score_history where as_of_date = ? order by all"


def rows(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_history_is_rewritten_only_by_backfill_and_a_backfill_equals_a_run_on_that_day(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    generate(landing, leads=300, seed=4, end_date=date(2026, 6, 30))
    changed = yaml.safe_load((ROOT / "scoring.yml").read_text())
    changed["fit"][0]["points"] = 35  # ideal_industry: a RevOps change
    changed_config = tmp_path / "changed.yml"
    changed_config.write_text(yaml.safe_dump(changed))

    def refresh(as_of: str, config: Path = ROOT / "scoring.yml", target: Path = warehouse) -> None:
        args = ["--landing", str(landing), "--warehouse", str(target), "--config", str(config)]
        assert main(["run", *args, "--as-of", as_of, "--quiet"]) == 0

    refresh("2026-06-29")
    refresh("2026-06-30")
    june_29 = rows(warehouse, HISTORY_OF, ["2026-06-29"])
    june_30 = rows(warehouse, HISTORY_OF, ["2026-06-30"])
    assert len(june_29) == len(june_30) == rows(warehouse, "select count(*) from marts.lead_scores")[0][0]
    assert rows(warehouse, "select count(*) from marts.segment_changes where as_of_date = '2026-06-30'")[0][0] > 0

    # A rule change rescores today's leads from the full event log, and leaves the past alone.
    refresh("2026-06-30", changed_config)
    assert rows(warehouse, HISTORY_OF, ["2026-06-30"]) != june_30
    assert rows(warehouse, HISTORY_OF, ["2026-06-29"]) == june_29
    # The fit rules carried per lead were matched again under the new rule, as a new warehouse would.
    rebuilt = tmp_path / "rebuilt.duckdb"
    refresh("2026-06-30", changed_config, rebuilt)
    for table in ("marts.lead_fit", "marts.lead_scores"):
        sql = f"select * from {table} order by lead_id"
        assert rows(warehouse, sql) == rows(rebuilt, sql), table

    # Only a backfill recomputes the past; it ends by recomputing the latest date again.
    args = ["--landing", str(landing), "--warehouse", str(warehouse), "--config", str(changed_config)]
    assert main(["backfill", *args, "--start", "2026-06-29", "--end", "2026-06-29"]) == 0
    backfilled = rows(warehouse, HISTORY_OF, ["2026-06-29"])
    assert backfilled != june_29
    assert rows(warehouse, "select distinct as_of_date::varchar from marts.lead_scores") == [("2026-06-30",)]

    # Readers find every date in the published copy, each date's slice written as a file of its own
    # that the copy names (a slice written again is a new file: copies made before it never read it).
    published = tmp_path / "published"
    files = rows(
        published / "leadops.duckdb",
        "select as_of_date, file_name from ops.history_files where table_name = 'lead_score_history' order by 1",
    )
    assert [day for day, _ in files] == ["2026-06-29", "2026-06-30"]
    for day, file in files:
        assert file.startswith(f"{day}/") and (published / "history" / "lead_score_history" / file).exists()
    for table in ("lead_score_history", "segment_changes"):
        sql = f"select * from marts.{table} order by all"
        assert rows(published / "leadops.duckdb", sql) == rows(warehouse, sql), table

    # ... and gives what a run on that day would have given.
    fresh = tmp_path / "fresh.duckdb"
    refresh("2026-06-29", changed_config, fresh)
    assert rows(fresh, HISTORY_OF, ["2026-06-29"]) == backfilled
