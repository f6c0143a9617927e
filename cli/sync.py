"""`leadops sync hubspot|salesforce`: the published scores onto the CRM's records, now, outside the
nightly refresh (which runs the same sync as its `crm/<destination>` assets). It reads the published
copy, which is always whole, and keeps what the CRM accepted in the warehouse's ops tables."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

from cli.errors import UserError
from leadops.settings import Settings


def sync(args: argparse.Namespace, settings: Settings) -> int:
    import duckdb

    from leadops.sources.mapping import load_mapping
    from leadops.sync.connect import destination_for
    from leadops.sync.destination import DestinationError
    from leadops.sync.run import NothingPublished, published_scores
    from leadops.sync.run import sync as run_sync
    from leadops.sync.settings import SyncConfigError, load_sync_config

    try:
        config = load_sync_config(settings.sync_config)
    except SyncConfigError as error:
        raise UserError(str(error)) from None
    if not settings.warehouse.exists():
        raise UserError(f"the warehouse {settings.warehouse} does not exist (run leadops run first)")
    mapping = load_mapping(settings.source)
    configured = args.destination in settings.sync_destinations
    try:
        # A dry run without credentials still says what would change; it cannot ask the CRM what it lacks.
        destination = destination_for(args.destination, settings, config) if configured or not args.dry_run else None
    except DestinationError as error:
        raise UserError(str(error)) from None
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
        try:
            scores = published_scores(con, settings.published_folder / "leadops.duckdb")
            with scores as published:
                report = run_sync(
                    con,
                    args.destination,
                    destination,
                    config,
                    mapping.crm if mapping else None,
                    sync_id=f"cli-{uuid.uuid4().hex[:12]}",
                    dry_run=args.dry_run,
                    full=args.full,
                    catalog=published,
                )
        except (DestinationError, NothingPublished) as error:
            raise UserError(str(error)) from None
    print("\n".join(report.lines()))
    return 1 if report.failed or report.stopped else 0


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "sync",
        help="write scores, grades, segments and reasons to HubSpot or Salesforce records (only what changed)",
    )
    parser.add_argument("destination", choices=["hubspot", "salesforce"])
    parser.add_argument("--dry-run", action="store_true", help="print what would change; write nothing anywhere")
    parser.add_argument("--full", action="store_true", help="send every lead, changed or not")
    parser.add_argument("--warehouse", type=Path, default=None, help="DuckDB file")
    parser.add_argument("--source", default=None, help="the source mapping the leads came from (its record ids)")
    parser.add_argument("--sync-config", type=Path, default=None, help="field mapping file")
    parser.set_defaults(handler=sync, writes=True)
