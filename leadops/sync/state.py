"""What each destination last accepted, kept in the warehouse's `ops` schema (and so in the
published copy, where `leadops status` reads it):

- ops.sync_state: per destination and lead, the hash and values the CRM last accepted, the CRM's
  record id, and the last refusal (its message, when, how many times) until a send is accepted;
- ops.sync_list_members: per destination and list, the records the CRM lists because of leadops;
- ops.sync_runs: one row per sync with what it considered, changed, sent, accepted and failed.

A batch is marked in one transaction right after the CRM answered it, so a crash between sending
and marking resends at most that batch, which the CRM's upsert makes harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb

from leadops.sql import transaction
from leadops.sync.destination import Outcome

STATE_TABLES = {
    "sync_state": (
        "destination varchar not null, lead_id varchar not null, record_id varchar, object_type varchar, "
        "accepted_hash varchar, accepted_values map(varchar, varchar), accepted_at timestamp, "
        "error varchar, error_at timestamp, failures integer not null default 0, "
        "primary key (destination, lead_id)"
    ),
    "sync_list_members": (
        "destination varchar not null, list_name varchar not null, record_id varchar not null, "
        "lead_id varchar not null, added_at timestamp not null, primary key (destination, list_name, record_id)"
    ),
    "sync_runs": (
        "sync_id varchar not null, destination varchar not null, started_at timestamp not null, "
        "finished_at timestamp, dry_run boolean not null, full_resend boolean not null, considered bigint, "
        "changed bigint, sent bigint, accepted bigint, failed bigint, api_calls bigint, "
        "list_added bigint, list_removed bigint, list_failed bigint, stopped varchar, change_seconds double"
    ),
}
BATCH_OUTCOMES = "sync_batch_outcomes"


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    for table, columns in STATE_TABLES.items():
        con.execute(f"create table if not exists ops.{table} ({columns})")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def mark(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    outcomes: Sequence[Outcome],
    changes: str,
    batch: tuple[int, int] = (0, 2**62),
) -> None:
    """Record one batch's answers: accepted records take the values sent (from the `changes` temp
    table, rows `batch` of its seq: a range, so a batch never scans the whole change set) as what
    the CRM holds; refused ones keep what it last accepted and gain the message."""
    if not outcomes:
        return
    at = now()
    with transaction(con):
        con.execute(
            f"create or replace temp table {BATCH_OUTCOMES} "
            "(lead_id varchar, accepted boolean, record_id varchar, message varchar)"
        )
        con.executemany(
            f"insert into {BATCH_OUTCOMES} values (?, ?, ?, ?)",
            [[o.lead_id, o.accepted, o.record_id, o.message] for o in outcomes],
        )
        con.execute(
            f"""
            insert into ops.sync_state
            select
                ? as destination, changes.lead_id, coalesce(outcome.record_id, changes.record_id),
                changes.object_type, changes.values_hash, changes.field_values, ? as accepted_at,
                null, null, 0
            from {BATCH_OUTCOMES} as outcome
            inner join {changes} as changes
                on changes.lead_id = outcome.lead_id and changes.seq >= ? and changes.seq < ?
            where outcome.accepted
            on conflict (destination, lead_id) do update set
                record_id = excluded.record_id, object_type = excluded.object_type,
                accepted_hash = excluded.accepted_hash, accepted_values = excluded.accepted_values,
                accepted_at = excluded.accepted_at, error = null, error_at = null, failures = 0
            """,
            [destination, at, *batch],
        )
        con.execute(
            f"""
            insert into ops.sync_state
            select
                ? as destination, changes.lead_id, changes.record_id, changes.object_type,
                null, null, null, outcome.message, ? as error_at, 1
            from {BATCH_OUTCOMES} as outcome
            inner join {changes} as changes
                on changes.lead_id = outcome.lead_id and changes.seq >= ? and changes.seq < ?
            where not outcome.accepted
            on conflict (destination, lead_id) do update set
                error = excluded.error, error_at = excluded.error_at, failures = ops.sync_state.failures + 1
            """,
            [destination, at, *batch],
        )


def mark_members(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    list_name: str,
    added: Sequence[tuple[str, str]],
    removed: Sequence[str],
) -> None:
    """`added`: (record id, lead id) the CRM now lists; `removed`: record ids it no longer lists."""
    at = now()
    with transaction(con):
        if removed:
            con.executemany(
                "delete from ops.sync_list_members where destination = ? and list_name = ? and record_id = ?",
                [[destination, list_name, record] for record in removed],
            )
        if added:
            con.executemany(
                "insert or replace into ops.sync_list_members values (?, ?, ?, ?, ?)",
                [[destination, list_name, record, lead, at] for record, lead in added],
            )


def record_run(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    columns = ", ".join(row)
    con.execute(f"insert into ops.sync_runs ({columns}) values ({', '.join('?' for _ in row)})", list(row.values()))


def last_runs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The latest sync of each destination (not a dry run) and its refused records now."""
    return con.execute(
        """
        select runs.destination, runs.finished_at, runs.considered, runs.changed, runs.sent, runs.accepted,
            runs.failed, runs.api_calls, runs.stopped,
            (select count(*) from ops.sync_state as s where s.destination = runs.destination and s.error is not null)
        from ops.sync_runs as runs
        where not runs.dry_run
        qualify row_number() over (partition by runs.destination order by runs.started_at desc) = 1
        order by runs.destination
        """
    ).fetchall()


def refused(con: duckdb.DuckDBPyConnection, destination: str, limit: int = 5) -> list[tuple]:
    return con.execute(
        "select lead_id, record_id, failures, error from ops.sync_state where destination = ? and error is not null "
        "order by error_at desc, lead_id limit ?",
        [destination, limit],
    ).fetchall()
