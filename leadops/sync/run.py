"""One sync of one destination: work out what changed, send it in the CRM's batches, mark what the
CRM accepted, then make each configured list equal to its segment.

A refused record is recorded with the CRM's message and sent again next run; it never stops the
others. A spent daily quota stops the sync cleanly: what was accepted is marked, the rest stays
changed, and the next run resumes with it. A dry run reads and counts and calls nothing that writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from leadops.sql import quote_literal
from leadops.sync.changes import CHANGES, Plan, field_changes, plan_changes, segment_changes
from leadops.sync.destination import Destination, MembershipChange, Outgoing, QuotaExhausted
from leadops.sync.settings import SyncConfig
from leadops.sync.state import mark, mark_members, now, record_run

SAMPLE = 3
PUBLISHED = "published_copy"  # the published copy, attached to the warehouse's connection
BULK_CHUNK = 100_000  # records per Bulk API job when a destination takes bulk volume


@dataclass
class ListReport:
    list_name: str
    segment: str
    members: int  # leads in the segment
    added: int = 0
    removed: int = 0
    failed: int = 0
    waiting: int = 0  # leads in the segment whose record the CRM has not accepted yet


@dataclass
class SyncReport:
    destination: str
    dry_run: bool
    full: bool
    considered: int = 0
    changed: int = 0
    sent: int = 0
    accepted: int = 0
    failed: int = 0
    api_calls: int = 0
    change_seconds: float = 0.0
    fields_created: list[str] = field(default_factory=list)
    missing_fields: list[str] | None = None  # dry run: None when the CRM was not asked
    field_changes: dict[str, int] = field(default_factory=dict)
    segments: list[tuple[str, int]] = field(default_factory=list)
    sample: list[tuple[str, str]] = field(default_factory=list)  # (lead, what changes)
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (lead, the CRM's message), a sample
    lists: list[ListReport] = field(default_factory=list)
    stopped: str | None = None

    def lines(self) -> list[str]:
        verb = "would send" if self.dry_run else "sent"
        out = [
            f"{self.destination}{' (dry run: nothing written)' if self.dry_run else ''}: "
            f"{self.considered} leads considered, {self.changed} changed (worked out in {self.change_seconds:.2f} s)",
        ]
        if not self.dry_run:
            out.append(
                f"  {verb} {self.sent}, accepted {self.accepted}, failed {self.failed}, API calls {self.api_calls}"
            )
        if self.fields_created:
            out.append(f"  created fields: {', '.join(self.fields_created)}")
        if self.missing_fields:
            out.append(f"  missing fields (a real sync creates or names them): {', '.join(self.missing_fields)}")
        if self.field_changes:
            out.append("  changes per field: " + ", ".join(f"{k} {v}" for k, v in self.field_changes.items()))
        if self.segments:
            out.append("  changed leads per segment: " + ", ".join(f"{s} {n}" for s, n in self.segments))
        for lead, what in self.sample:
            out.append(f"    {lead}: {what}")
        for lst in self.lists:
            out.append(
                f"  list {lst.list_name!r} (segment {lst.segment}, {lst.members} leads): "
                f"{'+' if not self.dry_run else 'would add '}{lst.added} "
                f"{'-' if not self.dry_run else 'remove '}{lst.removed}"
                + (f", {lst.failed} failed" if lst.failed else "")
                + (f", {lst.waiting} waiting for their record" if lst.waiting else "")
            )
        for lead, message in self.refusals:
            out.append(f"  refused {lead}: {message}")
        if self.stopped:
            out.append(f"  stopped: {self.stopped}")
        return out

    def run_row(self, sync_id: str, started) -> dict:
        return {
            "sync_id": sync_id,
            "destination": self.destination,
            "started_at": started,
            "finished_at": now(),
            "dry_run": self.dry_run,
            "full_resend": self.full,
            "considered": self.considered,
            "changed": self.changed,
            "sent": self.sent,
            "accepted": self.accepted,
            "failed": self.failed,
            "api_calls": self.api_calls,
            "list_added": sum(lst.added for lst in self.lists),
            "list_removed": sum(lst.removed for lst in self.lists),
            "list_failed": sum(lst.failed for lst in self.lists),
            "stopped": self.stopped,
            "change_seconds": self.change_seconds,
        }


class NothingPublished(Exception):
    """No published copy to sync from yet."""


@contextmanager
def published_scores(con: duckdb.DuckDBPyConnection, copy: Path) -> Iterator[str]:
    """The published copy attached read-only to `con` for the sync's reads; yields its name. The
    CRM gets what sales and the exports see, never the marts of a refresh still on its way."""
    if not copy.exists():
        raise NothingPublished(f"nothing is published yet at {copy}: run leadops run first")
    con.execute(f"attach {quote_literal(str(copy))} as {PUBLISHED} (read_only)")
    try:
        yield PUBLISHED
    finally:
        con.execute(f"detach {PUBLISHED}")


def sync(
    con: duckdb.DuckDBPyConnection,
    destination_name: str,
    destination: Destination | None,
    config: SyncConfig,
    ids_of: str | None,
    *,
    sync_id: str,
    dry_run: bool = False,
    full: bool = False,
    catalog: str | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> SyncReport:
    """Sync the scores of `catalog` (the published copy, attached; None: the connection's own
    marts) to `destination` (None only for a dry run without credentials). What the destination
    accepted is kept in the connection's own ops schema (the warehouse's)."""
    started = now()
    report = SyncReport(destination_name, dry_run, full)
    calls_before = destination.api_calls if destination is not None else 0
    clock = time.perf_counter()
    plan = plan_changes(con, destination_name, config, ids_of, full, catalog)
    report.change_seconds = time.perf_counter() - clock
    report.considered, report.changed = plan.considered, plan.changed
    log(f"{plan.changed} of {plan.considered} leads changed since {destination_name} last accepted them")
    crm_fields = [f for _, f in config.fields(destination_name)]
    if dry_run:
        report.field_changes = field_changes(con, plan)
        report.segments = segment_changes(con)
        report.sample = _sample(con, plan)
        if destination is not None:
            report.missing_fields = destination.missing_fields(crm_fields)
            report.api_calls = destination.api_calls - calls_before
        report.lists = _list_changes(con, destination_name, config, catalog, apply=None)
        return report
    assert destination is not None
    try:
        report.fields_created = destination.ensure_fields(crm_fields)
        _send(con, destination, plan, report, log)
        if not report.stopped:
            report.lists = _list_changes(con, destination_name, config, catalog, apply=destination)
    except QuotaExhausted as exhausted:
        report.stopped = f"the CRM's daily quota is spent ({exhausted}); the next run resumes"
    finally:
        report.api_calls = destination.api_calls - calls_before
        report.refusals = [
            (lead, message)
            for lead, message in con.execute(
                "select lead_id, error from ops.sync_state where destination = ? and error is not null "
                "order by error_at desc, lead_id limit ?",
                [destination_name, SAMPLE],
            ).fetchall()
        ]
        record_run(con, report.run_row(sync_id, started))
    return report


def _send(con, destination: Destination, plan: Plan, report: SyncReport, log: Callable[[str], None]) -> None:
    # A destination with a bulk API takes a large change set in one job (uses_bulk); every other
    # send is one batch, so a crash resends at most that batch.
    uses_bulk = getattr(destination, "uses_bulk", lambda count: False)
    size = min(plan.changed, BULK_CHUNK) if uses_bulk(plan.changed) else destination.batch_size
    for start in range(0, plan.changed, max(size, 1)):
        rows = con.execute(
            f"select lead_id, record_id, email, object_type, field_values from {CHANGES} "
            f"where seq >= ? and seq < ? order by seq",
            [start, start + size],
        ).fetchall()
        records = [
            Outgoing(lead, record, email, kind, {k: v for k, v in values.items() if k != "Rating" or v is not None})
            for lead, record, email, kind, values in rows
        ]
        try:
            outcomes = destination.send(records)
        except QuotaExhausted:
            raise
        mark(con, plan.destination, outcomes, CHANGES, (start, start + size))
        report.sent += len(records)
        report.accepted += sum(o.accepted for o in outcomes)
        report.failed += sum(not o.accepted for o in outcomes)
        log(f"{plan.destination}: {report.sent}/{plan.changed} sent, {report.failed} refused")


def _sample(con, plan: Plan) -> list[tuple[str, str]]:
    rows = con.execute(
        f"select changes.lead_id, changes.field_values, state.accepted_values from {CHANGES} as changes "
        "left join ops.sync_state as state on state.destination = ? and state.lead_id = changes.lead_id "
        "order by changes.seq limit ?",
        [plan.destination, SAMPLE],
    ).fetchall()
    sample = []
    for lead, values, previous in rows:
        previous = previous or {}
        moved = [f"{k}: {previous.get(k)!r} -> {v!r}" for k, v in values.items() if previous.get(k) != v]
        sample.append(
            (lead, "; ".join(moved) if previous else "new: " + ", ".join(f"{k}={v}" for k, v in values.items()))
        )
    return sample


def _list_changes(
    con, destination_name: str, config: SyncConfig, catalog: str | None, apply: Destination | None
) -> list[ListReport]:
    """Each configured list against its segment: leads whose accepted record is in the segment but
    not listed are added, listed records whose lead left it are removed."""
    reports = []
    marts = f"{catalog}.marts" if catalog else "marts"
    for segment, list_name in config.lists(destination_name).items():
        con.execute(
            f"""
            create or replace temp table sync_list_wanted as
            select members.lead_id, state.record_id, state.object_type
            from {marts}.segment_members as members
            left join ops.sync_state as state
                on state.destination = ? and state.lead_id = members.lead_id and state.accepted_hash is not null
            where members.segment = ?
            """,
            [destination_name, segment],
        )
        (members, waiting) = con.execute(
            "select count(*), count_if(record_id is null) from sync_list_wanted"
        ).fetchone()
        add = con.execute(
            """
            select wanted.record_id, wanted.lead_id, wanted.object_type from sync_list_wanted as wanted
            where wanted.record_id is not null and wanted.record_id not in (
                select record_id from ops.sync_list_members where destination = ? and list_name = ?)
            order by wanted.record_id
            """,
            [destination_name, list_name],
        ).fetchall()
        remove = con.execute(
            """
            select listed.record_id from ops.sync_list_members as listed
            where listed.destination = ? and listed.list_name = ? and listed.record_id not in (
                select record_id from sync_list_wanted where record_id is not null)
            order by listed.record_id
            """,
            [destination_name, list_name],
        ).fetchall()
        report = ListReport(list_name, segment, members, len(add), len(remove), waiting=waiting)
        if apply is not None and (add or remove):
            outcome = apply.change_membership(
                MembershipChange(
                    list_name,
                    [record for record, _, _ in add],
                    [record for (record,) in remove],
                    {record: kind for record, _, kind in add},
                )
            )
            lead_of = {record: lead for record, lead, _ in add}
            mark_members(con, destination_name, list_name, [(r, lead_of[r]) for r in outcome.added], outcome.removed)
            report.added, report.removed, report.failed = len(outcome.added), len(outcome.removed), len(outcome.failed)
        reports.append(report)
    return reports
