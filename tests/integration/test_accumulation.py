"""Nightly runs carry the engagement state forward and give exactly what a full build gives."""

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli.main import main
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
    "marts.lead_fit": "select * from marts.lead_fit order by lead_id",
    # The per-lead state without its bookkeeping (which run wrote a row, and which batch numbers the
    # loads gave its CRM row, differ by design; the line of that row does not).
    "intermediate.int_leads_enriched": (
        "select * exclude (accumulated_as_of_date, through_batch_id, configuration_fingerprint, row_version, "
        "ingest_batch_id) from intermediate.int_leads_enriched order by lead_id"
    ),
    "intermediate.int_fit_rules_matched": (
        "select lead_id, rule_name, points, evidence from intermediate.int_fit_rules_matched order by all"
    ),
}


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def refresh(landing: Path, warehouse: Path, as_of: str) -> None:
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", as_of, "--quiet"]) == 0


def land_the_next_day(everything: Path, landing: Path) -> None:
    """What arrives on the night of June 29: that day's events, a late event from June 10, an
    unsubscribe from a lead who had engaged, a lead exported late with its May activity, a lead
    exported again with a new title, and an account exported again with a new industry."""
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
    # Named to sort after leads.csv, so that a full build loads it later too and its rows win.
    (landing / "leads" / "update_2026-06-29.csv").write_text(
        "lead_id,email,created_at,first_name,last_name,job_title,company_domain,country\n"
        "LATECOMER,ava@latecomer.io,2026-05-01T09:00:00Z,Ava,Late,VP Marketing,latecomer.io,US\n"
        "L0000002,liam.nguyen1@novacapital46.com,2025-10-20T06:25:44Z,Liam,Nguyen,Chief Executive Officer,"
        "novacapital46.com,GB\n"
    )
    (landing / "accounts" / "late.csv").write_text(
        "company_domain,company_name,industry,employees,annual_revenue,country,is_customer\n"
        "pioneerfoods12.com,Pioneer Foods,software,1200,250000000.0,US,False\n"
    )


@pytest.fixture(scope="module")
def dbt_invocations() -> dict[str, Path]:
    """The artifact folder of each nightly run's `dbt build`, by as_of date (nightly_and_full fills it)."""
    return {}


def refresh_recording(landing: Path, warehouse: Path, as_of: str, invocations: dict[str, Path]) -> None:
    """refresh(), noting the folder of the dbt invocation it made."""
    folders = DBT_PROJECT_DIR / "target"
    before = set(folders.glob("leadops_dbt_models-*"))
    refresh(landing, warehouse, as_of)
    (invocations[as_of],) = set(folders.glob("leadops_dbt_models-*")) - before


@pytest.fixture(scope="module")
def nightly_and_full(tmp_path_factory, dbt_invocations) -> tuple[Path, Path]:
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
        refresh_recording(landing, nightly, "2026-06-28", dbt_invocations)
        land_the_next_day(everything, landing)
        refresh_recording(landing, nightly, "2026-06-29", dbt_invocations)
        refresh_recording(landing, nightly, "2026-06-30", dbt_invocations)  # nothing new lands: only time passes

        full = root / "full.duckdb"
        refresh(landing, full, "2026-06-30")
    return nightly, full


def test_three_nights_give_the_tables_a_full_build_gives(nightly_and_full):
    nightly, full = nightly_and_full
    for table, sql in COMPARED.items():
        assert rows(nightly, sql) == rows(full, sql), table
    assert rows(full, "select count(*) from marts.lead_scores where lead_id = 'LATECOMER'") == [(1,)]


def test_the_nights_reuse_the_parse_of_the_first_and_test_their_own_date(nightly_and_full, dbt_invocations):
    """The as_of date reaches dbt when it executes, not in a var (a new var makes dbt parse the
    whole project): the nights after the first reuse its parse, yet every date-dependent piece,
    the tests that read only the run's own history slice included, gets the night's date (and the
    tables equal a full build's: test_three_nights_give_the_tables_a_full_build_gives)."""
    for night in ("2026-06-29", "2026-06-30"):
        folder = dbt_invocations[night]
        log = (folder / "dbt.log").read_text()
        assert "Partial parsing enabled" in log and "Unable to do partial parsing" not in log, night
        assert "dbt build --exclude-resource-type unit_test" in log, night  # no --vars
        slice_tests = [
            path.read_text()
            for path in (folder / "compiled").rglob("*.sql")
            if '"lead_score_history" where as_of_date' in path.read_text()
        ]
        assert slice_tests and all(f"as_of_date = cast('{night}' as date)" in sql for sql in slice_tests), night


def test_a_night_without_new_events_rewrites_no_carried_rows(nightly_and_full):
    nightly, _ = nightly_and_full
    for table in (
        "int_lead_event_totals_accumulated",
        "int_engagement_rules_accumulated",
        "int_newsletters_accumulated",
    ):
        by_date = dict(
            rows(nightly, f"select accumulated_as_of_date::varchar, count(*) from intermediate.{table} group by 1")
        )
        assert "2026-06-30" not in by_date, table
        # The night of June 29 rewrote the rows its events touched and left the others.
        assert by_date.get("2026-06-29", 0) > 0 and by_date.get("2026-06-28", 0) > 0, table


def test_a_night_rewrites_the_leads_that_changed_and_no_others(nightly_and_full):
    nightly, _ = nightly_and_full
    written = dict(
        rows(
            nightly,
            "select accumulated_as_of_date::varchar, list(lead_id order by lead_id) "
            "from intermediate.int_leads_enriched group by 1",
        )
    )
    # June 29: the late and re-exported leads, the leads of the re-exported account, those created that day.
    created_on = dict(
        rows(
            nightly,
            "select created_at::date::varchar, list(lead_id order by lead_id) from raw.leads "
            "where created_at::date >= '2026-06-29' group by 1",
        )
    )
    account_leads = [
        lead
        for (lead,) in rows(
            nightly,
            "select distinct lead_id from raw.leads "
            "where company_domain = 'pioneerfoods12.com' or email like '%@pioneerfoods12.com'",
        )
    ]
    assert account_leads
    assert {"LATECOMER", "L0000002", *account_leads, *created_on.get("2026-06-29", [])} == set(written["2026-06-29"])
    # June 30 brought no file: only the leads created that day are new.
    assert written.get("2026-06-30", []) == created_on.get("2026-06-30", [])
    assert rows(nightly, "select seniority from intermediate.int_leads_enriched where lead_id = 'L0000002'") == [
        ("executive",)
    ]


def test_the_late_unsubscribe_resets_engagement_in_both(nightly_and_full):
    nightly, full = nightly_and_full
    reset = "select lead_id, reset_at from intermediate.int_engagement_resets where reset_at >= '2026-06-29' order by 1"
    assert rows(nightly, reset) == rows(full, reset) != []


def dbt_test(warehouse: Path, tmp_path: Path, select: str) -> dict[str, int]:
    """`dbt test` of the selected tests on `warehouse`, as the nightly run would test it: each
    test's failing rows, from run_results.json (a test that errors fails this helper instead)."""
    env = {**os.environ, "LEADOPS_WAREHOUSE": str(warehouse)}
    command = [dbt_executable(), "test", "--select", select, "--vars", '{"as_of": "2026-06-30"}']
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet"]
    subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    results = [r for r in results if r["unique_id"].startswith("test.")]  # not the on-run-start hook
    assert results and all(r["status"] in ("pass", "fail") for r in results), results
    return {r["unique_id"].split(".")[2]: r["failures"] for r in results}


def test_a_window_that_holds_a_night_twice_or_misses_one_fails_its_test(nightly_and_full, tmp_path):
    """The sliding window keeps no event ids; its test compares its rows per day and event type
    with the events of those days, so a slide that appends a night again, or loses one, fails."""
    nightly, _ = nightly_and_full
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(nightly, warehouse)
    select = "activity_window_holds_every_recent_event"
    assert list(dbt_test(warehouse, tmp_path, select).values()) == [0]
    table = "intermediate.int_events_windowed"
    last_day = f"cast(occurred_at as date) = (select max(cast(occurred_at as date)) from {table})"
    types_that_day = f"select count(distinct event_type) from {table} where {last_day}"
    with duckdb.connect(str(warehouse)) as con:
        (types,) = con.execute(types_that_day).fetchone()
        con.execute(f"insert into {table} select * from {table} where {last_day}")
    assert types > 0 and list(dbt_test(warehouse, tmp_path, select).values()) == [types]  # one row per day and type
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"delete from {table} where {last_day}")
    assert list(dbt_test(warehouse, tmp_path, select).values()) == [types]


def test_a_carried_row_that_repeats_a_key_fails_the_uniqueness_test_only_when_written(nightly_and_full, tmp_path):
    """The carried models' key tests group only the rows the last run wrote (the latest
    accumulated_as_of_date), each looked up among all rows: a written row that repeats an older
    key fails, while rows carried unchanged are not grouped again."""
    nightly, _ = nightly_and_full
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(nightly, warehouse)
    select = "test_name:unique_as_rows_arrive"
    passing = dbt_test(warehouse, tmp_path, select)
    assert len(passing) == 2 and set(passing.values()) == {0}, passing

    table = "intermediate.int_newsletters_accumulated"
    latest = f"(select max(accumulated_as_of_date) from {table})"
    repeat = (
        f"insert into {table} select * replace ({{written}} as accumulated_as_of_date) from {table} where rowid = ?"
    )
    with duckdb.connect(str(warehouse)) as con:
        older = f"select rowid from {table} where accumulated_as_of_date < {latest} order by all limit 2"
        first, second = (r for (r,) in con.execute(older).fetchall())
        # Two carried rows sharing a key: they passed when written, the test does not look again.
        con.execute(repeat.format(written=f"(select min(accumulated_as_of_date) from {table})"), [first])
    assert set(dbt_test(warehouse, tmp_path, select).values()) == {0}
    with duckdb.connect(str(warehouse)) as con:
        # What a carry that forgot to delete the row it replaces would write.
        con.execute(repeat.format(written=latest), [second])
    failing = dbt_test(warehouse, tmp_path, select)
    assert {name: n for name, n in failing.items() if n} == {
        "unique_as_rows_arrive_int_newsletters_accumulated_lead_id__campaign_id": 1
    }


def test_a_repeated_composite_key_fails_its_test(nightly_and_full, tmp_path):
    """On DuckDB the key test groups a hash of the key first and then the key itself for the
    hashes that repeat: a repeated composite key is still found, once."""
    _, full = nightly_and_full
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(full, warehouse)
    select = "test_name:key_and_not_null"
    passing = dbt_test(warehouse, tmp_path, select)
    assert len(passing) >= 5 and set(passing.values()) == {0}, passing
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.lead_score_factors select * from marts.lead_score_factors limit 1")
    failing = dbt_test(warehouse, tmp_path, select)
    assert {name: n for name, n in failing.items() if n} == {"key_and_not_null_lead_score_factors": 1}


@pytest.mark.parametrize(
    ("leads_without", "fit_rules_carried"),
    [
        # Before the fit state was carried: no bookkeeping columns, no keyword columns.
        (
            "junk_keyword, applicant_keyword, accumulated_as_of_date, through_batch_id, configuration_fingerprint, "
            "row_version, ingest_batch_id, ingest_line_number",
            False,
        ),
        # Before the leads named their CRM row, which the fit rules on custom fields join on.
        ("ingest_batch_id, ingest_line_number", True),
    ],
    ids=["not_carried", "crm_row_unnamed"],
)
def test_a_warehouse_from_before_the_fit_state_was_carried_upgrades_on_its_next_run(
    nightly_and_full, tmp_path, leads_without, fit_rules_carried
):
    """The tables as a previous version of leadops wrote them: the next run rebuilds them and gives
    what a full build gives."""
    nightly, full = nightly_and_full
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(nightly, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"create or replace table intermediate.int_leads_enriched as select * exclude ({leads_without}) "
            "from intermediate.int_leads_enriched"
        )
        if not fit_rules_carried:
            con.execute(
                "create or replace table intermediate.int_fit_rules_matched as select lead_id, rule_name, points, "
                "evidence from intermediate.int_fit_rules_matched"
            )
    landing = nightly.parent / "landing"
    refresh(landing, warehouse, "2026-06-30")
    for table, sql in COMPARED.items():
        # The upgraded table has its new columns last, so compare by column name.
        assert by_column(warehouse, sql) == by_column(full, sql), table


def by_column(warehouse: Path, sql: str) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return dict(zip(names, map(list, zip(*result.fetchall(), strict=True)), strict=True))


def test_a_warehouse_that_carried_engagement_points_upgrades_on_its_next_run(nightly_and_full, tmp_path):
    """An earlier version carried each rule's decayed points, not the events' weight: the next run
    adds the new column, forgets the rows computed under the old version, and gives what a full
    build gives, without the old column."""
    nightly, full = nightly_and_full
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(nightly, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create or replace table intermediate.int_engagement_rules_accumulated as "
            "select * exclude (decayed_events, configuration_fingerprint), decayed_events * 10 as decayed_points, "
            "'an earlier version' as configuration_fingerprint from intermediate.int_engagement_rules_accumulated"
        )
    refresh(nightly.parent / "landing", warehouse, "2026-06-30")
    for table, sql in COMPARED.items():
        assert by_column(warehouse, sql) == by_column(full, sql), table
    columns = rows(
        warehouse,
        "select column_name from information_schema.columns where table_name = 'int_engagement_rules_accumulated'",
    )
    assert ("decayed_events",) in columns and ("decayed_points",) not in columns
