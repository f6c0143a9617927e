"""Nightly runs carry the engagement state forward and give exactly what a full build gives."""

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from leadops.cli import main
from leadops.demo_data import generate
from orchestration.project import DBT_PROJECT_DIR, dbt_executable

pytestmark = pytest.mark.integration

# Every column of the tables sales and marketing read, and of the factors behind each score.
COMPARED = {
    "marts.lead_scores": "select * from marts.lead_scores order by lead_id",
    "marts.segment_members": "select * from marts.segment_members order by all",
    "marts.lead_score_factors": "select * from marts.lead_score_factors order by all",
    "marts.lead_engagement": "select * from marts.lead_engagement order by lead_id",
    "marts.lead_negative_signals": "select * from marts.lead_negative_signals order by lead_id",
}


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def refresh(landing: Path, warehouse: Path, as_of: str) -> None:
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", as_of, "--quiet"]) == 0


def land_the_next_day(everything: Path, landing: Path) -> None:
    """What arrives on the night of June 29: that day's events, a late event from June 10, an
    unsubscribe from a lead who had engaged, and a lead exported late with its May activity."""
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{everything}') where cast(occurred_at as date) = date '2026-06-29') "
            f"to '{landing / 'activity' / 'day_2026-06-29.parquet'}' (format parquet)"
        )
        (engaged,) = con.execute(
            f"select lead_id from read_parquet('{everything}') where event_type = 'demo_request' "
            "and cast(occurred_at as date) < date '2026-06-29' order by lead_id limit 1"
        ).fetchone()
    (landing / "activity" / "late.csv").write_text(
        "event_id,lead_id,event_type,occurred_at,url\n"
        f"LATE-1,{engaged},unsubscribe,2026-06-29T08:00:00Z,\n"
        "LATE-2,L0000001,page_view,2026-06-10T10:00:00Z,/pricing\n"
        "LATE-3,LATECOMER,demo_request,2026-05-20T10:00:00Z,/demo\n"
        "LATE-4,LATECOMER,page_view,2026-05-21T10:00:00Z,/pricing\n"
    )
    (landing / "leads" / "late.csv").write_text(
        "lead_id,email,created_at,first_name,last_name,job_title,company_domain,country\n"
        "LATECOMER,ava@latecomer.io,2026-05-01T09:00:00Z,Ava,Late,VP Marketing,latecomer.io,US\n"
    )


@pytest.fixture(scope="module")
def nightly_and_full(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("accumulation")
    landing = root / "landing"
    generate(landing, leads=400, seed=11, end_date=date(2026, 6, 30))
    everything = root / "all_events.parquet"
    (landing / "activity" / "events_0000.parquet").rename(everything)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{everything}') where cast(occurred_at as date) < date '2026-06-29') "
            f"to '{landing / 'activity' / 'base.parquet'}' (format parquet)"
        )

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        nightly = root / "nightly.duckdb"
        refresh(landing, nightly, "2026-06-28")
        land_the_next_day(everything, landing)
        refresh(landing, nightly, "2026-06-29")
        refresh(landing, nightly, "2026-06-30")  # nothing new lands: only time passes

        full = root / "full.duckdb"
        refresh(landing, full, "2026-06-30")
    return nightly, full


def test_three_nights_give_the_tables_a_full_build_gives(nightly_and_full):
    nightly, full = nightly_and_full
    for table, sql in COMPARED.items():
        assert rows(nightly, sql) == rows(full, sql), table
    assert rows(full, "select count(*) from marts.lead_scores where lead_id = 'LATECOMER'") == [(1,)]


def test_a_night_without_new_events_rewrites_no_carried_rows(nightly_and_full):
    nightly, _ = nightly_and_full
    for table in ("int_lead_activity_accumulated", "int_engagement_rules_accumulated", "int_newsletters_accumulated"):
        by_date = dict(
            rows(nightly, f"select accumulated_as_of_date::varchar, count(*) from intermediate.{table} group by 1")
        )
        assert "2026-06-30" not in by_date, table
        # The night of June 29 rewrote the rows its events touched and left the others.
        assert by_date.get("2026-06-29", 0) > 0 and by_date.get("2026-06-28", 0) > 0, table


def test_the_late_unsubscribe_resets_engagement_in_both(nightly_and_full):
    nightly, full = nightly_and_full
    reset = "select lead_id, reset_at from intermediate.int_engagement_resets where reset_at >= '2026-06-29' order by 1"
    assert rows(nightly, reset) == rows(full, reset) != []


def dbt_test(warehouse: Path, tmp_path: Path, select: str) -> int:
    """`dbt test` of the selected tests on `warehouse`, as the nightly run would test it."""
    env = {**os.environ, "LEADOPS_WAREHOUSE": str(warehouse)}
    command = [dbt_executable(), "test", "--select", select, "--vars", '{"as_of": "2026-06-30"}']
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet"]
    return subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True).returncode


def test_an_arriving_event_that_repeats_a_counted_one_fails_the_uniqueness_test(nightly_and_full, tmp_path):
    """The event_id test reads only the batches the engagement state has not counted, yet compares
    them with the whole history: an old event delivered again in a new batch fails it."""
    nightly, _ = nightly_and_full
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(nightly, warehouse)
    select = "test_name:unique_as_batches_arrive"
    assert dbt_test(warehouse, tmp_path, select) == 0

    with duckdb.connect(str(warehouse)) as con:
        # What a loader that forgot its duplicate check would write: a counted event, once more.
        con.execute(
            "insert into raw.activity select * replace ((select max(_batch_id) + 1 from raw.activity) as _batch_id) "
            "from raw.activity where event_id = (select min(event_id) from raw.activity)"
        )
    assert dbt_test(warehouse, tmp_path, select) == 1
