"""The run log: a finished run's events become ops.* rows, through the daemon's run-status sensor too."""

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from orchestration.automation import run_log_on_failure, run_log_on_success
from orchestration.run_log import summarise_run


@dg.asset(key=["raw", "leads"], check_specs=[dg.AssetCheckSpec("files_accepted", asset=["raw", "leads"])])
def fake_ingest():
    yield dg.MaterializeResult(
        metadata={
            "table_rows": 42,
            "file_reports": [
                {"file": "good.csv", "status": "loaded", "message": ""},
                {"file": "bad.csv", "status": "rejected", "message": "bad.csv line 3: no email"},
            ],
        }
    )
    yield dg.AssetCheckResult(check_name="files_accepted", passed=False, metadata={"failing_count": 1})


@dg.asset(deps=[fake_ingest])
def broken():
    raise RuntimeError("boom")


def _sensor_context(instance, result, sensor_name, event_type, warehouse):
    run = instance.get_run_by_id(result.run_id)
    event = next(e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event_type == event_type)
    return dg.build_run_status_sensor_context(
        sensor_name=sensor_name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"warehouse": DuckDBResource(database=warehouse)},
    )


def test_a_successful_run_is_summarised_with_rows_failed_checks_and_rejected_files(tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    with dg.instance_for_test() as instance:
        result = dg.materialize([fake_ingest], instance=instance)
        context = _sensor_context(instance, result, "run_log_on_success", dg.DagsterEventType.RUN_SUCCESS, warehouse)
        run_log_on_success(context)
        run_log_on_success(context)  # a sensor may fire twice: the record is replaced, not doubled

    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute(
            "select status, assets_materialized, checks_failed, files_rejected from ops.runs"
        ).fetchall() == [("success", 1, 1, 1)]
        assert con.execute("select asset_key, row_count from ops.asset_materializations").fetchall() == [
            ("raw/leads", 42)
        ]
        assert con.execute("select check_name, passed, failing_count from ops.check_results").fetchall() == [
            ("files_accepted", False, 1)
        ]
        assert con.execute("select source, file_name, problem from ops.rejected_files").fetchall() == [
            ("leads", "bad.csv", "bad.csv line 3: no email")
        ]


def test_a_failed_run_names_its_failed_step(tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    with dg.instance_for_test() as instance:
        result = dg.materialize([fake_ingest, broken], instance=instance, raise_on_error=False)
        context = _sensor_context(instance, result, "run_log_on_failure", dg.DagsterEventType.RUN_FAILURE, warehouse)
        run_log_on_failure(context)
        record = summarise_run(result.run_id, "job", None, "failure", instance.all_logs(result.run_id))

    assert record.failed_steps == ["broken"]
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select status, failed_steps from ops.runs").fetchone() == ("failure", '["broken"]')
