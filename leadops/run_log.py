"""The run log in the warehouse: what each refresh did, so `leadops status` needs nothing but the file.

Dagster keeps its own event log in DAGSTER_HOME, which a `leadops run` without DAGSTER_HOME throws
away and which sales never sees. So at the end of every run (the CLI after an in-process run, a
run-status sensor after a daemon run) the run's events are summarised into `ops.*` tables:
`ops.runs` (one row per run), `ops.asset_materializations`, `ops.check_results` and
`ops.rejected_files`. Recording a run twice replaces its rows.

A run is also recorded when it starts, before it writes anything, with the status `started`: a run
killed before its end leaves that row, so `leadops status` can say it did not finish instead of
reporting the run before it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from leadops.sql import transaction

OPS_TABLES = {
    "runs": (
        "run_id varchar primary key, job_name varchar not null, as_of_date date, status varchar not null, "
        "started_at timestamp, finished_at timestamp, assets_materialized integer not null, "
        "checks_failed integer not null, files_rejected integer not null, failed_steps varchar, failure varchar"
    ),
    "asset_materializations": (
        "run_id varchar not null, asset_key varchar not null, materialized_at timestamp not null, row_count bigint, "
        "primary key (run_id, asset_key)"
    ),
    "check_results": (
        "run_id varchar not null, asset_key varchar not null, check_name varchar not null, passed boolean not null, "
        "severity varchar not null, failing_count bigint, description varchar, "
        "primary key (run_id, asset_key, check_name)"
    ),
    "rejected_files": "run_id varchar not null, source varchar not null, file_name varchar not null, problem varchar",
}

# Added after the first release: warehouses made before get them on their next run.
ADDED_COLUMNS = {"runs": {"failure": "varchar"}}
STARTED = "started"

# A full disk shows as DuckDB's "Could not write file "<path>": No space left on device" or Python's
# "[Errno 28] No space left on device: '<path>'", often under other errors that hide it.
NO_SPACE = "No space left on device"
NO_SPACE_PATHS = (
    re.compile(r'file "([^"]+)": No space left on device'),
    re.compile(r"\[Errno 28\] No space left on device: '([^']+)'"),
)

# Row counts come from the metadata each asset reports (ingest, dbt models, publishing).
ROW_COUNT_KEYS = ("dagster/row_count", "table_rows")


@dataclass
class RunRecord:
    run_id: str
    job_name: str
    as_of: str | None
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    materializations: list[tuple[str, datetime, int | None]] = field(default_factory=list)
    checks: list[tuple[str, str, bool, str, int | None, str | None]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    failure: str | None = None  # the run's failure in one line, e.g. "no space left on device at <path>"


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


def record_run(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """Write one run's summary into `ops.*` in one transaction, replacing an earlier record of it."""
    ensure_ops_tables(con)
    with transaction(con):
        for table in OPS_TABLES:
            con.execute(f"delete from ops.{table} where run_id = ?", [record.run_id])
        # A materialization reported twice in one run (a retried step) counts once, the latest.
        latest = {key: (stamp, rows) for key, stamp, rows in sorted(record.materializations, key=lambda m: m[1])}
        checks = {(asset, name): row for asset, name, *row in record.checks}
        con.execute(
            "insert into ops.runs (run_id, job_name, as_of_date, status, started_at, finished_at, "
            "assets_materialized, checks_failed, files_rejected, failed_steps, failure) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.run_id,
                record.job_name,
                record.as_of,
                record.status,
                record.started_at,
                record.finished_at,
                len(latest),
                sum(1 for passed, *_ in checks.values() if not passed),
                len(record.rejected),
                json.dumps(record.failed_steps) if record.failed_steps else None,
                record.failure,
            ],
        )
        if latest:
            con.executemany(
                "insert into ops.asset_materializations values (?, ?, ?, ?)",
                [[record.run_id, key, stamp, rows] for key, (stamp, rows) in latest.items()],
            )
        if checks:
            con.executemany(
                "insert into ops.check_results values (?, ?, ?, ?, ?, ?, ?)",
                [[record.run_id, asset, name, *row] for (asset, name), row in checks.items()],
            )
        if record.rejected:
            con.executemany(
                "insert into ops.rejected_files values (?, ?, ?, ?)",
                [[record.run_id, *row] for row in record.rejected],
            )


def record_start(con: duckdb.DuckDBPyConnection, run_id: str, job_name: str, as_of: str | None) -> None:
    """Record a run as started, before it writes: the row its end replaces (see the module's doc)."""
    record_run(con, RunRecord(run_id, job_name, as_of, STARTED, started_at=datetime.now(UTC).replace(tzinfo=None)))


def ensure_ops_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    for table, columns in OPS_TABLES.items():
        con.execute(f"create table if not exists ops.{table} ({columns})")
    for table, added in ADDED_COLUMNS.items():
        for column, kind in added.items():
            con.execute(f"alter table ops.{table} add column if not exists {column} {kind}")
