"""The `leadops` command: demo data, a refresh through Dagster, and a look at the results.

Flags, the environment and the defaults become one `leadops.settings.Settings` here, once; every
command gets it, and nothing is passed on through `os.environ`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from datetime import date
from pathlib import Path

from cli.errors import UserError

EXIT_CODES = """exit codes:
  0  done (status: the last run succeeded)
  1  a run's problem: a rejected file, a failed step or error check, or a run that did not finish
  2  a bad configuration or usage
  3  another refresh holds the warehouse (run, backfill and train take it, one at a time;
     the lock is <warehouse>.lock, released when its process ends, however it ends)"""
# The flags that are settings (leadops.settings.Settings); None when not given, so the environment
# and then the default apply.
SETTING_FLAGS = (
    "landing",
    "warehouse",
    "source",
    "source_database",
    "source_schema",
    "config",
    "dbt_target",
    "lake",
    "sync_config",
)


def entrypoint() -> None:
    """The `leadops` console script."""
    if hasattr(signal, "SIGPIPE"):  # `leadops explain L1 | head` ends quietly, like any Unix tool
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    from leadops.settings import Settings, SettingsError
    from leadops.sources.extract import MappingWithoutDatabase, SourceDatabaseError
    from leadops.sources.mapping import MappingError
    from leadops.warehouse_lock import EXIT_WAREHOUSE_BUSY, WarehouseBusy, hold

    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.load(**{name: getattr(args, name, None) for name in SETTING_FLAGS})
        # Taken before any work, so a second refresh is told at once instead of waiting on DuckDB.
        with hold(settings.warehouse) if getattr(args, "writes", False) else contextlib.nullcontext():
            return args.handler(args, settings)
    except (UserError, SettingsError, MappingError, SourceDatabaseError, MappingWithoutDatabase) as error:
        print(f"leadops: {error}", file=sys.stderr)
        return 2
    except WarehouseBusy as error:
        print(f"leadops: {error}", file=sys.stderr)
        return EXIT_WAREHOUSE_BUSY


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _parser() -> argparse.ArgumentParser:
    from cli import preview, reads, refresh, sync

    parser = argparse.ArgumentParser(
        prog="leadops",
        description=__doc__.split("\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser("demo-data", help="write a seeded demo dataset into a landing folder")
    demo.add_argument("--leads", type=int, default=5000, help="number of leads (default 5000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--out", type=Path, default=None, help="landing folder (default: the landing setting)")
    demo.add_argument("--end-date", type=_date, default=None, help="last day of activity (default today)")
    demo.add_argument("--events-per-lead", type=float, default=50.0, help="mean events per lead (default 50)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing if the folder already has files")
    demo.add_argument(
        "--shape",
        choices=["leadops", "fivetran-hubspot"],
        default="leadops",
        help="leadops: the input contract's folders (default); fivetran-hubspot: the tables of Fivetran's "
        "HubSpot schema, for --source fivetran-hubspot",
    )
    demo.set_defaults(handler=reads.demo_data)

    run = commands.add_parser(
        "run",
        help="refresh the whole graph through Dagster and print a summary",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _refresh_options(run)
    run.add_argument(
        "--as-of", type=_date, default=None, help="score as of this date (default today in LEADOPS_TIMEZONE, UTC)"
    )
    run.set_defaults(handler=refresh.run, writes=True)

    backfill = commands.add_parser(
        "backfill", help="recompute the score history of past dates (the only way past history changes)"
    )
    _refresh_options(backfill)
    backfill.add_argument("--start", type=_date, required=True, help="first date to recompute (YYYY-MM-DD)")
    backfill.add_argument("--end", type=_date, required=True, help="last date to recompute (YYYY-MM-DD)")
    backfill.set_defaults(handler=refresh.backfill, writes=True)

    explain = commands.add_parser("explain", help="print how a lead's score was made, factor by factor")
    explain.add_argument("lead_id")
    _warehouse_option(explain)
    explain.set_defaults(handler=reads.explain)

    segments = commands.add_parser("segments", help="list the segments with their lead counts")
    _warehouse_option(segments)
    segments.set_defaults(handler=reads.segments)

    export = commands.add_parser("export", help="write one segment as CSV or Parquet for a CRM import")
    export.add_argument("segment", help="segment name, e.g. sql (see leadops segments)")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--out", type=Path, required=True, help="file to write")
    _warehouse_option(export)
    export.set_defaults(handler=reads.export)

    lake = commands.add_parser("lake-export", help="write the raw and config tables as Parquet for other engines")
    _warehouse_option(lake)
    lake.add_argument("--out", type=Path, default=None, help="lake folder (default: the lake setting, data/lake)")
    lake.set_defaults(handler=reads.lake_export)

    train = commands.add_parser(
        "train", help="retrain the conversion model on the warehouse's data and rescore every lead (the retrain job)"
    )
    _warehouse_option(train)
    train.add_argument("--config", type=Path, default=None, help="scoring configuration (default scoring.yml)")
    train.add_argument(
        "--if-untrained", action="store_true", help="do nothing if a model is already trained (make run)"
    )
    train.set_defaults(handler=refresh.train, writes=True)

    status = commands.add_parser(
        "status", help="the last run, each table's rows and last refresh, failed checks and rejected files"
    )
    _warehouse_option(status)
    status.set_defaults(handler=reads.status)

    sync.add_parser(commands)
    preview.add_parser(commands)

    prepare = commands.add_parser("prepare", help="parse the dbt project into its manifest (done by make)")
    prepare.set_defaults(handler=refresh.prepare)
    return parser


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB file (default LEADOPS_WAREHOUSE, else data/warehouse.duckdb)",
    )


def _refresh_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print only problems, not the summary")
    parser.add_argument(
        "--landing", type=Path, default=None, help="landing folder (default LEADOPS_LANDING, else data/landing)"
    )
    _warehouse_option(parser)
    parser.add_argument(
        "--source",
        default=None,
        help="how the landing files map to leadops' tables: leadops (the input contract, the default), "
        "a preset (hubspot-export) or a mapping file (docs/bring-your-crm.md)",
    )
    parser.add_argument(
        "--source-database",
        default=None,
        help="read the mapping's tables from the database a sync fills: postgresql://user@host:port/db "
        "(password from PGPASSWORD or ~/.pgpass) or duckdb:///path/file.duckdb",
    )
    parser.add_argument("--source-schema", default=None, help="its schema (default: the mapping's, e.g. hubspot)")
    parser.add_argument(
        "--config", type=Path, default=None, help="scoring configuration (default LEADOPS_CONFIG, else scoring.yml)"
    )
    parser.add_argument(
        "--dbt-target",
        default=None,
        help="dbt target the models build on: duckdb (the default) or spark (needs the spark extra)",
    )
    parser.add_argument(
        "--lake",
        type=Path,
        default=None,
        help="where raw tables are shared as Parquet with a non-DuckDB target (default data/lake)",
    )


if __name__ == "__main__":
    entrypoint()
