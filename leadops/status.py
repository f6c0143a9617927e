"""`leadops status`: the state of a warehouse, read from the warehouse file alone."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from leadops.run_log import STARTED
from leadops.sql import table_exists
from leadops.warehouse_lock import Holder

# Views are rebuilt from these on every run, so only tables have rows and a refresh time worth showing.
REPORTED_SCHEMAS = ("raw", "config", "intermediate", "marts", "ops")


LAST_RUN = (
    "select run_id, job_name, as_of_date, status, started_at, finished_at, assets_materialized, checks_failed, "
    "files_rejected, failed_steps, {failure} from ops.runs order by started_at desc nulls last, run_id desc limit 1"
)


def print_status(con: duckdb.DuckDBPyConnection, label: str, running: Holder | None = None) -> int:
    """Print the last run, every table's rows and last refresh, and the last run's failures.

    Returns 1 when the last run failed, did not finish, had a failed error-severity check or
    rejected a file, so scripts and cron can act on it. `running`: who holds the warehouse now.
    """
    print(f"leadops status of {label}")
    if not table_exists(con, "ops", "runs"):
        print("no run recorded yet (run leadops run)")
        return 1
    last = _last_run(con)
    run_id, job, as_of, status, started, finished, materialized, checks_failed, rejected, failed_steps, failure = last
    if status == STARTED:
        return _print_unfinished(run_id, job, as_of, started, running)
    took = (finished - started).total_seconds() if started and finished else 0.0
    print(f"\nlast run {run_id} ({job}) as of {as_of}: {status.upper()}")
    print(f"  started {started:%Y-%m-%d %H:%M:%S} UTC, took {took:.1f} s")
    print(f"  {materialized} assets materialized, {checks_failed} failed checks, {rejected} rejected files")
    if failed_steps:
        print(f"  failed steps: {', '.join(json.loads(failed_steps))}")
    if failure:
        print(f"  failure: {failure}")

    print(f"\n  {'table':<44}{'rows':>12}  last refreshed (UTC)")
    for schema, table, refreshed in _tables(con):
        (rows,) = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
        when = f"{refreshed:%Y-%m-%d %H:%M:%S}" if refreshed else "never by a run"
        print(f"  {schema + '.' + table:<44}{rows:>12}  {when}")

    failed = con.execute(
        "select asset_key, check_name, severity, failing_count, coalesce(description, '') from ops.check_results "
        "where run_id = ? and not passed order by severity, asset_key, check_name",
        [run_id],
    ).fetchall()
    print(f"\nfailed checks in the last run: {len(failed) or 'none'}")
    for asset, check, severity, failing, description in failed:
        print(f"  {severity:<6}{asset}:{check} ({failing if failing is not None else '?'} failing) {description}")

    rejected_files = con.execute(
        "select source, file_name, problem from ops.rejected_files where run_id = ? order by source, file_name",
        [run_id],
    ).fetchall()
    print(f"\nrejected files in the last run: {len(rejected_files) or 'none'}")
    for _, _, problem in rejected_files:
        print(f"  {problem}")  # the loader's message names the file by its path, the line and the problem

    _print_quarantine(con)
    _print_syncs(con)
    has_errors = any(severity == "ERROR" for _, _, severity, _, _ in failed)
    return int(status != "success" or has_errors or bool(rejected_files))


# A reason names the value it refused ("no contact row has property_email 'ann@x.io'"): grouped with
# the values left out, one line counts every row refused for the same reason.
QUARANTINE_BY_REASON = (
    "select source, regexp_replace(reason, '''[^'']*''', '…', 'g') as kind, count(*) as rows "
    "from raw.quarantine group by all order by rows desc, source, kind limit ?"
)


def _print_quarantine(con: duckdb.DuckDBPyConnection, top: int = 10) -> None:
    """The rows kept out of the raw tables, by source and kind of reason (every run's: the table keeps them)."""
    if not table_exists(con, "raw", "quarantine"):
        return  # the published copy holds the marts only
    (total,) = con.execute("select count(*) from raw.quarantine").fetchone()
    print(f"\nquarantined rows (raw.quarantine, every run): {total or 'none'}")
    for source, kind, rows in con.execute(QUARANTINE_BY_REASON, [top]).fetchall():
        print(f"  {rows:>8}  {source}: {kind}")


def _print_syncs(con: duckdb.DuckDBPyConnection) -> None:
    """The last sync of each CRM and the records it refused, which the next sync sends again."""
    if not table_exists(con, "ops", "sync_runs"):
        return
    from leadops.sync.state import last_runs, refused

    for destination, finished, considered, changed, sent, accepted, failed, calls, stopped, waiting in last_runs(con):
        print(
            f"\nlast {destination} sync, {finished:%Y-%m-%d %H:%M:%S} UTC: {considered} leads, {changed} changed, "
            f"{sent} sent, {accepted} accepted, {failed} refused, {calls} API calls"
        )
        if stopped:
            print(f"  stopped: {stopped}")
        print(f"  refused records waiting for the next sync: {waiting or 'none'}")
        for lead, record, failures, message in refused(con, destination):
            print(f"  {lead} (record {record or 'by email'}, {failures} time(s)): {message}")


def _last_run(con: duckdb.DuckDBPyConnection) -> tuple:
    has_failure = con.execute(  # a published copy made before ops.runs had the column
        "select count(*) from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'ops' and table_name = 'runs' and column_name = 'failure'"
    ).fetchone()[0]
    return con.execute(LAST_RUN.format(failure="failure" if has_failure else "null")).fetchone()


def unfinished_run(con: duckdb.DuckDBPyConnection) -> tuple[str, datetime] | None:
    """(run id, start) of the last run when it was recorded as started and never as finished: the
    warehouse may then hold some tables of that run and some of the one before."""
    if not table_exists(con, "ops", "runs"):
        return None
    run_id, _, _, status, started, *_ = _last_run(con)
    return (run_id, started) if status == STARTED else None


def _print_unfinished(run_id: str, job: str, as_of, started: datetime, running: Holder | None) -> int:
    if running:
        print(f"\nlast run {run_id} ({job}) as of {as_of}: RUNNING ({running.describe()})")
        return 0
    print(f"\nlast run {run_id} ({job}) as of {as_of}: DID NOT FINISH")
    print(f"  started {started:%Y-%m-%d %H:%M:%S} UTC; its process ended before recording an outcome (killed?)")
    print("  the warehouse may hold tables of this run and of the one before; until a run finishes,")
    print("  leadops segments, explain and export read the published copy")
    return 1


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, object]]:
    schemas = ", ".join(f"'{s}'" for s in REPORTED_SCHEMAS)
    return con.execute(
        f"""
        with refreshed as (
            select asset_key, max(materialized_at) as refreshed_at
            from ops.asset_materializations group by asset_key
        )
        select tables.schema_name, tables.table_name, refreshed.refreshed_at
        from duckdb_tables() as tables
        left join refreshed on refreshed.asset_key = tables.schema_name || '/' || tables.table_name
        where tables.database_name = current_database() and tables.schema_name in ({schemas})
        order by list_position([{schemas}], tables.schema_name), tables.table_name
        """
    ).fetchall()
