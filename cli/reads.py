"""The commands that read: demo data into a landing folder, and the warehouse's results.

While a refresh holds the warehouse, or when the last one did not finish, the reads fall back to
the published copy, which is always whole, and say so on stderr.
"""

from __future__ import annotations

import argparse
import sys

from cli.errors import UserError
from leadops.settings import Settings


def demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.demo_data import generate, is_empty, planned_files
    from leadops.progress import FileProgress

    out = args.out or settings.landing
    if args.if_empty and not is_empty(out):
        print(f"{out} already has files; leaving them as they are")
        return 0
    options = {
        "leads": args.leads,
        "seed": args.seed,
        "end_date": args.end_date,
        "events_per_lead": args.events_per_lead,
    }
    if args.shape == "fivetran-hubspot":
        from leadops.demo_data.fivetran import write_fivetran_hubspot

        rows = write_fivetran_hubspot(out, generate, **options)
        left_out = rows.pop("events_without_a_table")
        print(", ".join(f"{table} {count}" for table, count in rows.items()) + f" rows written to {out}")
        print(f"{left_out} web and content events have no table in Fivetran's HubSpot schema: not written")
        return 0
    with FileProgress(sys.stderr, "demo data", planned_files(args.leads)) as progress:
        summary = generate(
            out,
            leads=args.leads,
            seed=args.seed,
            end_date=args.end_date,
            events_per_lead=args.events_per_lead,
            progress=progress,
        )
    print(
        f"wrote {summary.accounts} accounts, {summary.leads} leads, {summary.events} events and "
        f"{summary.conversions} conversions to {summary.out}"
    )
    return 0


def explain(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.summary import explain_lead

    with read_only(settings) as con:
        if not explain_lead(con, args.lead_id):
            raise UserError(f"no lead {args.lead_id!r} in {settings.warehouse} (was it created after the as_of date?)")
    return 0


def segments(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.exports import segment_counts

    with read_only(settings) as con:
        for segment, leads in segment_counts(con):
            print(f"{segment:<16}{leads:>9}")
    return 0


def export(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.exports import export_segment

    with read_only(settings) as con:
        try:
            rows = export_segment(con, args.segment, args.format, args.out)
        except ValueError as error:
            raise UserError(str(error)) from None
    print(f"wrote {rows} leads of segment {args.segment} to {args.out}")
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    """Reads the warehouse; while a refresh holds it, the published copy (as of the last refresh)."""
    from leadops.status import print_status
    from leadops.warehouse_lock import holder

    con, source, note = _open_for_reading(settings)
    with con:
        return print_status(con, f"{source} ({note})" if note else str(source), holder(settings.warehouse))


def lake_export(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.lake import export_lake

    out = args.out or settings.lake
    if not settings.warehouse.exists():
        raise UserError(f"the warehouse {settings.warehouse} does not exist (run leadops run first)")
    for table, rows in export_lake(settings.warehouse, out).items():
        print(f"{table}: {rows} rows")
    print(f"lake written to {out}")
    return 0


def read_only(settings: Settings):
    """The warehouse, read-only, when it is the product of a finished run; else (a refresh holds it
    or the last one did not finish) the published copy, which is whole, with a note on stderr."""
    from leadops.status import unfinished_run

    con, source, note = _open_for_reading(settings)
    if note is None and (unfinished := unfinished_run(con)):
        run_id, started = unfinished
        con.close()
        con, source, note = _open_published(
            settings, f"the last run {run_id} (started {started:%Y-%m-%d %H:%M:%S} UTC) did not finish"
        )
    if note:
        print(f"note: reading {source}: {note}", file=sys.stderr)
    return con


def _open_for_reading(settings: Settings):
    """(connection, the file it reads, why that is not the warehouse or None)."""
    import duckdb

    warehouse = settings.warehouse
    if not warehouse.exists():
        raise UserError(f"the warehouse {warehouse} does not exist (run leadops run first)")
    try:
        return duckdb.connect(str(warehouse), read_only=True), warehouse, None
    except duckdb.IOException:
        from leadops.warehouse_lock import holder

        running = holder(warehouse)
        return _open_published(
            settings, f"a running refresh ({running.describe()})" if running else "a running refresh", locked=True
        )


def _open_published(settings: Settings, why: str, locked: bool = False):
    import duckdb

    warehouse, published = settings.warehouse, settings.published_folder / "leadops.duckdb"
    if not published.exists():
        raise UserError(f"{warehouse} is {'locked by ' if locked else 'not whole: '}{why} and nothing is published yet")
    note = f"{warehouse} is {'locked by ' if locked else 'not whole: '}{why}; this is the last published state"
    return duckdb.connect(str(published), read_only=True), published, note
