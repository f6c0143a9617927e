"""Materialize the whole graph on a small generated dataset and check what comes out."""

import json
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster_dbt import DbtCliResource

from cli.main import main
from leadops.demo_data import generate
from orchestration.project import dbt_executable, dbt_project

AS_OF = "2026-06-30"
pytestmark = pytest.mark.integration


def plant_known_leads(landing: Path) -> None:
    """An ideal buyer who asked for a demo, and a competitor who did the same."""
    (landing / "accounts" / "planted.csv").write_text(
        "company_domain,company_name,industry,employees,annual_revenue,country,is_customer\n"
        "idealco.com,IdealCo,Software,1200,250000000,US,false\n"
    )
    (landing / "leads" / "planted.csv").write_text(
        "lead_id,email,created_at,first_name,last_name,job_title,company_domain,country\n"
        "P-IDEAL,ceo@idealco.com,2026-03-01T09:00:00Z,Ida,Deal,Founder & CEO,idealco.com,US\n"
        "P-RIVAL,jane@rivalscore.io,2026-03-01T09:00:00Z,Jane,Rival,VP Marketing,rivalscore.io,US\n"
    )
    events = ["event_id,lead_id,event_type,occurred_at,url"]
    for lead in ("P-IDEAL", "P-RIVAL"):
        events += [
            f"{lead}-1,{lead},demo_request,2026-06-25T10:00:00Z,/demo",
            f"{lead}-2,{lead},page_view,2026-06-24T10:00:00Z,/pricing",
            f"{lead}-3,{lead},page_view,2026-06-24T10:05:00Z,/pricing",
            f"{lead}-4,{lead},webinar_registration,2026-06-20T10:00:00Z,",
            f"{lead}-5,{lead},content_download,2026-06-21T10:00:00Z,/case-studies/acme",
            f"{lead}-6,{lead},form_submission,2026-06-25T09:55:00Z,/contact",
        ]
    (landing / "activity" / "planted.csv").write_text("\n".join(events) + "\n")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline") / "landing"
    generate(folder, leads=600, seed=21, end_date=date.fromisoformat(AS_OF))
    plant_known_leads(folder)
    return folder


def run(landing: Path, warehouse: Path, monkeypatch) -> int:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF])


@pytest.fixture(scope="module")
def warehouse(landing, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert run(landing, path, monkeypatch) == 0
    return path


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_an_ideal_lead_who_asked_for_a_demo_is_qualified(warehouse):
    ((segment, grade, score),) = query(
        warehouse, "select segment, fit_grade, score from marts.lead_scores where lead_id = 'P-IDEAL'"
    )
    assert segment in {"mql", "sql"}
    assert grade == "A" and score >= 60


def test_a_competitor_is_disqualified_whatever_it_does(warehouse):
    ((segment, reason),) = query(
        warehouse, "select segment, disqualified_by from marts.lead_scores where lead_id = 'P-RIVAL'"
    )
    assert (segment, reason) == ("disqualified", "competitor")


def test_every_lead_has_exactly_one_segment_and_a_score(warehouse):
    (raw_leads,) = query(
        warehouse, "select count(distinct lead_id) from raw.leads where created_at::date <= ?", [AS_OF]
    )[0]
    scored, distinct, null_scores = query(
        warehouse,
        "select count(*), count(distinct lead_id), count_if(score is null) from marts.segment_members "
        "where list_type = 'lifecycle'",
    )[0]
    assert scored == distinct == raw_leads == 602
    assert null_scores == 0
    segments = {s for (s,) in query(warehouse, "select distinct segment from marts.segment_members")}
    assert {"disqualified", "cold", "warm", "mql", "sql"} <= segments
    assert {"hot_leads", "conversion_campaign", "nurture"} <= segments


def test_the_ideal_lead_is_hot_because_it_asked_for_a_demo(warehouse):
    ((is_hot, trigger),) = query(
        warehouse, "select is_hot, hot_trigger from marts.lead_scores where lead_id = 'P-IDEAL'"
    )
    assert (is_hot, trigger) == (True, "demo_request on 2026-06-25")
    assert query(
        warehouse,
        "select count(*) from marts.segment_members where segment = 'hot_leads' and lead_id in ('P-IDEAL', 'P-RIVAL')",
    ) == [(1,)]


def test_history_holds_the_run_and_every_lead_entered_a_segment(warehouse):
    assert query(warehouse, "select count(*), min(as_of_date)::varchar from marts.lead_score_history") == [(602, AS_OF)]
    assert query(warehouse, "select count(distinct lead_id) from marts.segment_changes where change = 'entered'") == [
        (602,)
    ]


def test_factor_rows_add_up_to_each_score(warehouse):
    mismatches = query(
        warehouse,
        """
        select s.lead_id, s.score, coalesce(sum(f.points), 0)
        from marts.lead_scores s left join marts.lead_score_factors f using (lead_id)
        group by all having s.score <> coalesce(sum(f.points), 0)
        """,
    )
    assert mismatches == []
    assert query(warehouse, "select count_if(score < 0 or score > 100) from marts.lead_scores") == [(0,)]


def test_converters_score_higher_than_the_rest(warehouse):
    ((auc,),) = query(
        warehouse,
        """
        with won as (select distinct lead_id from raw.conversions where stage = 'closed_won'),
        scored as (
            select score, won.lead_id is not null as is_won from marts.lead_scores left join won using (lead_id)
        ),
        ranked as (select is_won, avg(rank) over (partition by score) as rank
                   from (select *, rank() over (order by score) + 0.0 as rank from scored))
        select (sum(rank) filter (where is_won) - count_if(is_won) * (count_if(is_won) + 1) / 2.0)
               / (count_if(is_won) * count_if(not is_won))
        from ranked
        """,
    )
    assert auc > 0.6


def test_the_same_inputs_and_as_of_give_the_same_tables(warehouse, landing, tmp_path, monkeypatch):
    again = tmp_path / "again.duckdb"
    assert run(landing, again, monkeypatch) == 0
    for table in ("lead_scores", "segment_members", "lead_score_factors", "account_rollup", "lead_score_history"):
        sql = f"select * from marts.{table} order by all"
        assert query(warehouse, sql) == query(again, sql), table


def test_a_rerun_loads_nothing_twice(warehouse, landing, monkeypatch, capsys):
    before = query(warehouse, "select count(*) from raw.activity")
    assert run(landing, warehouse, monkeypatch) == 0
    assert query(warehouse, "select count(*) from raw.activity") == before
    assert "0 file(s) loaded, 2 skipped" in capsys.readouterr().out


def test_the_marts_are_published_as_a_read_only_copy_with_exports(warehouse):
    published = warehouse.parent / "published" / "leadops.duckdb"
    sql = "select * from marts.segment_members order by all"
    assert query(published, sql) == query(warehouse, sql)
    exports = warehouse.parent / "published" / "exports"
    for segment, leads in query(published, "select segment, count(*) from marts.segment_members group by 1"):
        for file_format in ("csv", "parquet"):
            path = exports / f"{segment}.{file_format}"
            reader = f"read_csv('{path}')" if file_format == "csv" else f"read_parquet('{path}')"
            assert query(published, f"select count(*) from {reader}") == [(leads,)], path
            in_file = query(published, f"select lead_id, score from {reader}")
            assert in_file == sorted(in_file, key=lambda row: (-row[1], row[0])), f"{path}: best score first"
    assert not list(published.parent.glob(".*partial"))


def test_the_dbt_unit_tests_run_here_and_are_left_out_of_every_run(warehouse, tmp_path, monkeypatch):
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    assert manifest["unit_tests"], "the scoring math is pinned by dbt unit tests"
    runs = sorted(
        (dbt_project.project_dir / dbt_project.target_path).glob("leadops_dbt_models-*/run_results.json"),
        key=lambda p: p.stat().st_mtime,
    )
    ran = [r["unique_id"] for r in json.loads(runs[-1].read_text(encoding="utf-8"))["results"]]
    assert any(node.startswith("test.") for node in ran) and not any(node.startswith("unit_test.") for node in ran)

    # They need the built relations for their column types, so they run against a copy of the warehouse.
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    monkeypatch.setenv("LEADOPS_WAREHOUSE", str(copy))
    target = tmp_path / "target"
    command = ["test", "--select", "test_type:unit", "--vars", json.dumps({"as_of": AS_OF})]
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(command, target_path=target, raise_on_error=False).wait()

    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    statuses = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert statuses == dict.fromkeys(manifest["unit_tests"], "pass")


def test_the_whole_table_invariants_are_dbt_tests_that_fail_on_a_broken_mart(warehouse, tmp_path, monkeypatch):
    """The invariants over whole marts run in dbt build (the run above passed them); on a copy whose
    marts were broken on purpose, each fails with the count of the rows that break it."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        repeated, changed, unsegmented = [
            row[0] for row in con.execute("select lead_id from marts.lead_scores order by lead_id limit 3").fetchall()
        ]
        con.execute("insert into marts.lead_scores select * from marts.lead_scores where lead_id = ?", [repeated])
        con.execute("update marts.lead_scores set score = score + 1 where lead_id = ?", [changed])
        con.execute("delete from marts.segment_members where list_type = 'lifecycle' and lead_id = ?", [unsegmented])
    monkeypatch.setenv("LEADOPS_WAREHOUSE", str(copy))
    target = tmp_path / "target"
    command = ["test", "--select", "test_type:singular", "--vars", json.dumps({"as_of": AS_OF})]
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(command, target_path=target, raise_on_error=False).wait()

    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    outcomes = {
        r["unique_id"].split(".")[-1]: (r["status"], r["failures"])
        for r in results
        if r["unique_id"].startswith("test.")
    }
    assert outcomes == {
        "every_raw_lead_scored_once": ("fail", 1),  # the repeated lead, scored twice
        "scores_are_the_sum_of_their_factors": ("fail", 1),  # the changed score
        "every_lead_in_one_segment": ("fail", 1),  # the lead taken out of its segment
        "activity_window_holds_every_recent_event": ("pass", 0),  # the window was not touched
    }


def test_a_repeated_key_or_a_null_fails_its_models_one_test(warehouse, tmp_path, monkeypatch):
    """Each model's key and never-null columns are one dbt test (key_and_not_null), one dbt node
    instead of a unique test and a not-null test: a repeated key and a null in any never-null column
    both fail it, each row that breaks it counted once."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        first, second, repeated = [
            row[0] for row in con.execute("select lead_id from marts.lead_scores order by lead_id limit 3").fetchall()
        ]
        con.execute("update marts.lead_scores set segment = null where lead_id = ?", [first])
        con.execute("update marts.lead_scores set score_label = null, is_hot = null where lead_id = ?", [second])
        con.execute("insert into marts.lead_fit select * from marts.lead_fit where lead_id = ?", [repeated])
    monkeypatch.setenv("LEADOPS_WAREHOUSE", str(copy))
    target = tmp_path / "target"
    command = ["test", "--select", "test_name:key_and_not_null", "--vars", json.dumps({"as_of": AS_OF})]
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dbt.cli(command, target_path=target, raise_on_error=False).wait()

    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    outcomes = {
        r["unique_id"].split(".")[2]: (r["status"], r["failures"])
        for r in results
        if r["unique_id"].startswith("test.")
    }
    assert len(outcomes) > 20
    assert outcomes.pop("key_and_not_null_lead_scores") == ("fail", 2)  # two rows with a null
    assert outcomes.pop("key_and_not_null_lead_fit") == ("fail", 1)  # one key, twice
    assert set(outcomes.values()) == {("pass", 0)}


def test_dbt_in_the_steps_process_reports_its_failures_and_lets_go_of_the_file(warehouse, tmp_path, monkeypatch):
    """On DuckDB dbt runs in the step's process (orchestration/dbt_in_process.py): a failing test
    still fails the invocation with dbt's own message, and when dbt returns the warehouse file and
    dbt's log are closed, so the checks can open the file with their own configuration."""
    from orchestration.resources import LeadopsDbtCli

    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("insert into marts.lead_scores select * from marts.lead_scores order by lead_id limit 1")
    monkeypatch.setenv("LEADOPS_WAREHOUSE", str(copy))
    target = tmp_path / "target"
    dbt = LeadopsDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable(), in_process=True)

    invocation = dbt.cli(
        ["test", "--select", "every_raw_lead_scored_once", "--vars", json.dumps({"as_of": AS_OF})],
        target_path=target,
        raise_on_error=False,
    )
    events = [e.raw_event for e in invocation.stream_raw_events()]

    assert not invocation.is_successful()
    assert "every_raw_lead_scored_once" in str(invocation.get_error())
    results = [e["data"] for e in events if e["info"]["name"] == "LogTestResult"]
    assert [(r["name"], r["status"], r["num_failures"]) for r in results] == [("every_raw_lead_scored_once", "fail", 1)]
    held = [os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if os.path.exists(fd)]
    assert not [path for path in held if path.endswith("dbt.log") or path == str(copy)]
    with duckdb.connect(str(copy), config={"memory_limit": "123MB"}) as con:  # another configuration
        assert con.execute("select count(*) > 0 from marts.lead_scores").fetchone() == (True,)
