"""The run log in the warehouse: what each refresh did, so `leadops status` needs nothing but the file.

Dagster keeps its own event log in DAGSTER_HOME, which a `leadops run` without DAGSTER_HOME throws
away and which sales never sees. So at the end of every run (the CLI after an in-process run, a
run-status sensor after a daemon run) the run's events are summarised into `ops.*` tables:
`ops.runs` (one row per run), `ops.asset_materializations`, `ops.check_results` and
`ops.rejected_files`. Recording a run twice replaces its rows. Reading the events is Dagster's
part (orchestration/run_log.py); this module keeps the tables.

A run is also recorded when it starts, before it writes anything, with the status `started`: a run
killed before its end leaves that row, so `leadops status` can say it did not finish instead of
reporting the run before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
