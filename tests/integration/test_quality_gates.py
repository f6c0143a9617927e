"""Messy files through the whole graph: what loads, what is quarantined, what warns and what blocks."""

from pathlib import Path

import duckdb
import pytest

from cli.main import main

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"
EVENTS = "event_id,lead_id,event_type,occurred_at,url\n"


def write(landing: Path, source: str, name: str, text: str) -> None:
    (landing / source).mkdir(parents=True, exist_ok=True)
    (landing / source / name).write_text(text)


def run(landing: Path, warehouse: Path, capsys) -> tuple[int, str]:
    code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF, "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Run 1: messy but acceptable files. Returns (landing, warehouse, output of run 1)."""
    root = tmp_path_factory.mktemp("gates")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    write(landing, "accounts", "accounts.csv", "company_domain,industry,employees,country\nacme.com,software,500,US\n")
    write(
        landing,
        "leads",
        "a_monday.csv",
        "lead_id,email,created_at,first_name,job_title,company_domain\n"
        "L1,old@acme.com,2026-01-05,Ann,VP Marketing,acme.com\n"
        "L2,bo@acme.com,2026-01-05,Bo,Engineer,acme.com\n"
        "L3,cy@acme.com,2099-01-01,Cy,CEO,acme.com\n"
        'L4,di@acme.com,2026-01-05,"=HYPERLINK(""http://x.example"",""hi"")",CTO,acme.com\n',
    )
    write(landing, "leads", "b_tuesday.csv", "lead_id,email,created_at,first_name\nL1,new@acme.com,2026-01-05,Ann\n")
    write(
        landing,
        "activity",
        "a_web.csv",
        EVENTS + "e1,L1,page_view,2026-06-20,/pricing\ne2,GHOST,page_view,2026-06-20,/\n"
        "e3,L1,demo_request,2099-06-20,/demo\n",
    )
    write(landing, "activity", "b_web_resent.csv", EVENTS + "e1,L1,page_view,2026-06-20,/pricing\n")
    write(landing, "conversions", "c.csv", "lead_id,stage,occurred_at\nL2,opportunity,2026-03-01\n")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF, "--quiet"])
    assert code == 0
    return landing, warehouse


def test_the_later_file_replaces_a_lead(story):
    _, warehouse = story
    assert rows(warehouse, "select email from marts.lead_scores where lead_id = 'L1'") == [("new@acme.com",)]


def test_the_same_event_in_two_files_counts_once(story):
    _, warehouse = story
    assert rows(warehouse, "select count(*) from raw.activity where event_id = 'e1'") == [(1,)]
    assert rows(warehouse, "select reason from raw.quarantine where record like '%e1%'") == [
        (
            rows(
                warehouse,
                "select 'event_id ''e1'' was already loaded from ' || _file_name || ' line ' "
                "|| _line_number || '; it counts once' from raw.activity where event_id = 'e1'",
            )[0][0],
        )
    ]
    assert rows(warehouse, "select count(*) from staging.stg_raw__activity where event_id = 'e1'") == [(1,)]
    assert rows(
        warehouse,
        "select event_count from intermediate.int_engagement_rules_applied "
        "where lead_id = 'L1' and rule_name = 'pricing_page'",
    ) == [(1,)]


def test_future_leads_and_events_are_kept_but_not_scored_before_their_date(story):
    _, warehouse = story
    assert rows(warehouse, "select count(*) from raw.leads where lead_id = 'L3'") == [(1,)]
    assert rows(warehouse, "select count(*) from marts.lead_scores where lead_id = 'L3'") == [(0,)]
    assert rows(warehouse, "select count(*) from intermediate.int_events_known_as_of where event_id = 'e3'") == [(0,)]


def test_events_of_unknown_leads_are_kept_but_not_scored(story):
    _, warehouse = story
    assert rows(warehouse, "select count(*) from raw.activity where lead_id = 'GHOST'") == [(1,)]
    assert rows(warehouse, "select count(*) from marts.lead_scores where lead_id = 'GHOST'") == [(0,)]


def test_formula_text_reaches_the_marts_unchanged(story):
    _, warehouse = story
    assert rows(warehouse, "select first_name from marts.lead_scores where lead_id = 'L4'") == [
        ('=HYPERLINK("http://x.example","hi")',)
    ]


def test_warnings_are_reported_without_failing_the_run(story, capsys):
    landing, warehouse = story
    code, output = run(landing, warehouse, capsys)
    assert code == 0
    assert "WARN check raw/activity:activity_for_known_leads failed (1 failing)" in output
    assert "WARN check raw/activity:activity_not_after_as_of failed (1 failing)" in output
    assert "WARN check raw/leads:leads_not_created_after_as_of failed (1 failing)" in output


def test_a_file_failing_an_error_expectation_is_rejected_and_blocks_the_run(story, capsys):
    landing, warehouse = story
    scores_before = rows(warehouse, "select * from marts.lead_scores order by lead_id")
    write(
        landing,
        "activity",
        "c_export_bug.csv",
        EVENTS + "e9,L2,page_view,2026-06-01,/\ne10,L2,page_view,1970-01-01,/\n",
    )

    code, output = run(landing, warehouse, capsys)

    assert code == 1
    assert "c_export_bug.csv, line 3: expectation expect_column_values_to_be_between(occurred_at) failed" in output
    assert "ERROR check raw/activity:raw_activity failed" in output
    # Nothing of the file is loaded, it is not marked as loaded, and the marts were not rebuilt.
    assert rows(warehouse, "select count(*) from raw.activity where event_id in ('e9', 'e10')") == [(0,)]
    assert rows(warehouse, "select count(*) from raw.ingested_files where file_name like '%c_export_bug%'") == [(0,)]
    assert rows(warehouse, "select * from marts.lead_scores order by lead_id") == scores_before

    # Fixed and dropped again, it loads.
    write(
        landing,
        "activity",
        "c_export_bug.csv",
        EVENTS + "e9,L2,page_view,2026-06-01,/\ne10,L2,page_view,2026-06-02,/\n",
    )
    code, output = run(landing, warehouse, capsys)
    assert code == 0, output
    assert rows(warehouse, "select count(*) from raw.activity where event_id in ('e9', 'e10')") == [(2,)]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_formulas_are_neutralised_in_exports(story, tmp_path, file_format):
    _, warehouse = story
    ((segment,),) = rows(warehouse, "select segment from marts.segment_members where lead_id = 'L4'")
    out = tmp_path / f"segment.{file_format}"
    assert main(["export", segment, "--format", file_format, "--out", str(out), "--warehouse", str(warehouse)]) == 0
    reader = f"read_csv('{out}', all_varchar = true)" if file_format == "csv" else f"read_parquet('{out}')"
    exported = duckdb.execute(f"select first_name, email from {reader} where lead_id = 'L4'").fetchone()
    assert exported == ('\'=HYPERLINK("http://x.example","hi")', "di@acme.com")
