"""Automation: the refresh job, the nightly schedule, the landing-folder sensor and the run log.

Freshness is declared on the models themselves (`freshness_fail_hours` in their dbt meta) and
evaluated by the daemon. Transient failures are retried twice: a step that raises (a file briefly
locked, a webhook timing out) by its asset's retry policy, a run whose process died by the
daemon's run retries (`deploy/dagster.yaml`). A failed check or a rejected file is not transient
and is not retried."""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.dates import today
from leadops.loader import file_state, landing_files
from leadops.settings import Settings
from leadops.warehouse_lock import holder
from orchestration.resources import AS_OF_TAG
from orchestration.run_log import record_run_log

# A refresh launched and not yet ended: the sensor and the schedule start no other behind it.
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

# Steps share one DuckDB file, which allows one writing process at a time: run them in one process.
refresh_job = dg.define_asset_job(
    "refresh",
    # Training the conversion model is weekly or on demand (orchestration/predictive.py); scoring
    # with the latest model is cheap and runs here.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("model_training"),
    executor_def=dg.in_process_executor,
    description="Ingests new landing files, rebuilds the dbt models and scores every lead as of the run's date.",
    # Run retries (enabled in deploy/dagster.yaml) restart a run whose process died, from the
    # failed steps; a step that failed on its own already had its retries.
    tags={
        "dagster/max_retries": "2",
        "dagster/retry_strategy": "FROM_FAILURE",
        "dagster/retry_on_asset_or_op_failure": "false",
    },
)


def nightly_refresh(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        job=refresh_job,
        cron_schedule=settings.nightly_cron,
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Refreshes everything every night, scoring as of the scheduled date.",
    )
    def nightly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        busy = refresh_in_progress(context, settings.warehouse)
        if busy:
            return dg.SkipReason(busy)
        as_of = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(run_key=f"nightly-{as_of}", tags={AS_OF_TAG: as_of})

    return nightly_refresh


def landing_files_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        job=refresh_job,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Rescores intra-day when new or changed files land: one run per new set of files, once each "
            f"has stopped changing for {settings.landing_settle_seconds:g} s (LEADOPS_LANDING_SETTLE_SECONDS)."
        ),
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        busy = refresh_in_progress(context, settings.warehouse)
        if busy:  # the files are still new at the next tick after it: nothing is lost by waiting
            return dg.SensorResult(skip_reason=busy)
        seen = set(json.loads(context.cursor)) if context.cursor else set()
        files = landing_signatures(settings.landing)
        # A file modified within the settle time may still be being copied in: it waits for a later tick.
        settled_before = time.time() - settings.landing_settle_seconds
        ready = {signature for signature, modified_at in files.items() if modified_at <= settled_before}
        new = sorted(ready - seen)
        if not new:
            waiting = len(files) - len(ready)
            reason = (
                f"waiting for {waiting} file(s) to stop changing" if waiting else "no new files in the landing folder"
            )
            return dg.SensorResult(skip_reason=reason)
        as_of = today(settings.timezone).isoformat()
        run_key = hashlib.sha256("\n".join(new).encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, tags={AS_OF_TAG: as_of, "leadops/new_files": str(len(new))})],
            cursor=json.dumps(sorted(ready)),
        )

    return landing_files_sensor


def refresh_in_progress(
    context: dg.SensorEvaluationContext | dg.ScheduleEvaluationContext, warehouse: Path
) -> str | None:
    """Why no refresh may start now, or None: a process holds the warehouse (`leadops run`, or a
    run of the daemon), or a refresh is queued or starting and will."""
    running = holder(warehouse)
    if running:
        return f"another refresh ({running.describe()}) holds the warehouse"
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance, as in tests
        return None
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=refresh_job.name, statuses=IN_PROGRESS), limit=1)
    return f"refresh {runs[0].run_id} is {runs[0].status.value.lower()}" if runs else None


def landing_signatures(landing: Path) -> dict[str, float]:
    """Each file the loader would read (`landing_files`) as `path|size|mtime` (a file that is
    replaced counts as new), with when it was last modified, in seconds."""
    signatures = {}
    for path in landing_files(landing):
        size, modified_ns = file_state(path)
        signatures[f"{path.relative_to(landing)}|{size}|{modified_ns}"] = modified_ns / 1e9
    return signatures


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[refresh_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes each successful refresh into the warehouse's run log (ops.*) for `leadops status`.",
)
def run_log_on_success(context: dg.RunStatusSensorContext, warehouse: DuckDBResource):
    record = record_run_log(context.instance, context.dagster_run, warehouse.database)
    context.log.info(f"run {record.run_id}: {len(record.materializations)} materializations recorded")


@dg.run_failure_sensor(
    monitored_jobs=[refresh_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes each failed refresh into the warehouse's run log (ops.*) for `leadops status`.",
)
def run_log_on_failure(context: dg.RunFailureSensorContext, warehouse: DuckDBResource):
    record = record_run_log(context.instance, context.dagster_run, warehouse.database)
    context.log.info(f"run {record.run_id} failed at {record.failed_steps}")
