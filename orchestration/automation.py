"""Automation: the refresh job and the nightly schedule that runs it."""

import os

import dagster as dg

from orchestration.resources import AS_OF_TAG

# Steps share one DuckDB file, which allows one writing process at a time: run them in one process.
refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingests new landing files, rebuilds the dbt models and scores every lead as of the run's date.",
)


@dg.schedule(
    job=refresh_job,
    cron_schedule=os.environ.get("LEADOPS_NIGHTLY_CRON", "0 2 * * *"),
    execution_timezone=os.environ.get("LEADOPS_TIMEZONE", "UTC"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refreshes everything every night, scoring as of the scheduled date.",
)
def nightly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    as_of = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"nightly-{as_of}", tags={AS_OF_TAG: as_of})
