"""A finished run's Dagster events reduced to the warehouse's run log (leadops.run_log's ops.* tables)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from leadops.run_log import RunRecord, record_run
from orchestration.resources import AS_OF_TAG

# A full disk shows as DuckDB's "Could not write file "<path>": No space left on device" or Python's
# "[Errno 28] No space left on device: '<path>'", often under other errors that hide it.
NO_SPACE = "No space left on device"
NO_SPACE_PATHS = (
    re.compile(r'file "([^"]+)": No space left on device'),
    re.compile(r"\[Errno 28\] No space left on device: '([^']+)'"),
)

# Row counts come from the metadata each asset reports (ingest, dbt models, publishing).
ROW_COUNT_KEYS = ("dagster/row_count", "table_rows")


def record_run_log(instance: dg.DagsterInstance, run: dg.DagsterRun, database: str) -> RunRecord:
    """Summarise a finished run's events into the warehouse's `ops.*` tables."""
    import duckdb

    record = summarise_run_log(instance, run)
    with duckdb.connect(database) as con:
        record_run(con, record)
    return record


def summarise_run_log(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunRecord:
    status = "success" if run.status == dg.DagsterRunStatus.SUCCESS else "failure"
    return summarise_run(run.run_id, run.job_name, run.tags.get(AS_OF_TAG), status, instance.all_logs(run.run_id))


def summarise_run(run_id: str, job_name: str, as_of: str | None, status: str, records: list[Any]) -> RunRecord:
    """Reduce a run's event log entries (`instance.all_logs(run_id)`) to what the ops tables keep."""
    record = RunRecord(run_id, job_name, as_of, status)
    for entry in records:
        stamp = datetime.fromtimestamp(entry.timestamp, UTC).replace(tzinfo=None)
        record.started_at = min(record.started_at or stamp, stamp)
        record.finished_at = max(record.finished_at or stamp, stamp)
        event = entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            materialization = data.materialization
            key = materialization.asset_key.to_user_string()
            meta = {k: v.value for k, v in materialization.metadata.items()}
            rows = next((int(meta[k]) for k in ROW_COUNT_KEYS if isinstance(meta.get(k), int | float)), None)
            record.materializations.append((key, stamp, rows))
            source = key.removeprefix("raw/")
            record.rejected += [
                (source, f["file"], f["message"])
                for f in meta.get("file_reports", [])
                if key.startswith("raw/") and f["status"] == "rejected"
            ]
        elif kind == "ASSET_CHECK_EVALUATION":
            meta = {k: v.value for k, v in data.metadata.items()}
            failing = meta.get("failing_count")
            record.checks.append(
                (
                    data.asset_check_key.asset_key.to_user_string(),
                    data.asset_check_key.name,
                    bool(data.passed),
                    data.severity.value,
                    int(failing) if isinstance(failing, int | float) else None,
                    data.description,
                )
            )
        elif kind == "STEP_FAILURE":
            record.failed_steps.append(event.step_key)
            record.failure = record.failure or failure_of(event.step_key, data.error)
    return record


def failure_of(step: str, error: Any) -> str | None:
    """A failed step's cause in one line: a full disk named with its path wherever in the chain of
    errors it is, else the innermost error's first line. `error`: Dagster's SerializableErrorInfo."""
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause or error.context
    for message in messages:
        if NO_SPACE in message:
            found = next((m.group(1) for p in NO_SPACE_PATHS if (m := p.search(message))), None)
            return f"no space left on device at {found}" if found else f"no space left on device ({message})"
    return f"step {step}: {messages[-1].splitlines()[0]}" if messages else None
