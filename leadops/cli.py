"""The `leadops` command: demo data, a full refresh through Dagster, and a look at the results."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LANDING = PROJECT_ROOT / "data" / "landing"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
DEFAULT_CONFIG = PROJECT_ROOT / "scoring.yml"
EXIT_CODES = """exit codes:
  0  done (status: the last run succeeded)
  1  a run's problem: a rejected file, a failed step or error check, or a run that did not finish
  2  a bad configuration or usage
  3  another refresh holds the warehouse (run, backfill and train take it, one at a time;
     the lock is <warehouse>.lock, released when its process ends, however it ends)"""


def entrypoint() -> None:
    """The `leadops` console script."""
    if hasattr(signal, "SIGPIPE"):  # `leadops explain L1 | head` ends quietly, like any Unix tool
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from leadops.warehouse_lock import EXIT_WAREHOUSE_BUSY, WarehouseBusy, hold

    try:
        # Taken before any work, so a second refresh is told at once instead of waiting on DuckDB.
        with hold(args.warehouse) if getattr(args, "writes", False) else contextlib.nullcontext():
            return args.handler(args)
    except UserError as error:
        print(f"leadops: {error}", file=sys.stderr)
        return 2
    except WarehouseBusy as error:
        print(f"leadops: {error}", file=sys.stderr)
        return EXIT_WAREHOUSE_BUSY


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadops", description=__doc__, epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser("demo-data", help="write a seeded demo dataset into a landing folder")
    demo.add_argument("--leads", type=int, default=5000, help="number of leads (default 5000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--out", type=Path, default=DEFAULT_LANDING, help="landing folder (default data/landing)")
    demo.add_argument("--end-date", type=_date, default=None, help="last day of activity (default today)")
    demo.add_argument("--events-per-lead", type=float, default=50.0, help="mean events per lead (default 50)")
    demo.add_argument("--if-empty", action="store_true", help="do nothing if the folder already has files")
    demo.set_defaults(handler=_demo_data)

    run = commands.add_parser(
        "run",
        help="refresh the whole graph through Dagster and print a summary",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _refresh_options(run)
    run.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="score as of this date (default today in LEADOPS_TIMEZONE, UTC by default)",
    )
    run.set_defaults(handler=_run, writes=True)

    backfill = commands.add_parser(
        "backfill", help="recompute the score history of past dates (the only way past history changes)"
    )
    _refresh_options(backfill)
    backfill.add_argument("--start", type=_date, required=True, help="first date to recompute (YYYY-MM-DD)")
    backfill.add_argument("--end", type=_date, required=True, help="last date to recompute (YYYY-MM-DD)")
    backfill.set_defaults(handler=_backfill, writes=True)

    explain = commands.add_parser("explain", help="print how a lead's score was made, factor by factor")
    explain.add_argument("lead_id")
    explain.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file")
    explain.set_defaults(handler=_explain)

    segments = commands.add_parser("segments", help="list the segments with their lead counts")
    segments.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file")
    segments.set_defaults(handler=_segments)

    export = commands.add_parser("export", help="write one segment as CSV or Parquet for a CRM import")
    export.add_argument("segment", help="segment name, e.g. sql (see leadops segments)")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file")
    export.set_defaults(handler=_export)

    lake = commands.add_parser("lake-export", help="write the raw and config tables as Parquet for other engines")
    lake.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file")
    lake.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "lake", help="lake folder (data/lake)")
    lake.set_defaults(handler=_lake_export)

    train = commands.add_parser(
        "train", help="retrain the conversion model on the warehouse's data and rescore every lead (the retrain job)"
    )
    train.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file")
    train.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="scoring configuration (scoring.yml)")
    train.add_argument(
        "--if-untrained", action="store_true", help="do nothing if a model is already trained (make run)"
    )
    train.set_defaults(handler=_train, writes=True)

    status = commands.add_parser(
        "status", help="the last run, each table's rows and last refresh, failed checks and rejected files"
    )
    status.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file")
    status.set_defaults(handler=_status)

    prepare = commands.add_parser("prepare", help="parse the dbt project into its manifest (done by make)")
    prepare.set_defaults(handler=_prepare)
    return parser


def _refresh_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print only problems, not the summary")
    parser.add_argument("--landing", type=Path, default=DEFAULT_LANDING, help="landing folder (default data/landing)")
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=DEFAULT_WAREHOUSE,
        help="DuckDB file (default data/warehouse.duckdb)",
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="scoring configuration (scoring.yml)")
    parser.add_argument(
        "--dbt-target",
        default=os.environ.get("LEADOPS_DBT_TARGET", "duckdb"),
        help="dbt target the models build on: duckdb (default) or spark (needs the spark extra)",
    )
    parser.add_argument(
        "--lake",
        type=Path,
        default=PROJECT_ROOT / "data" / "lake",
        help="where raw tables are shared as Parquet with a non-DuckDB target (default data/lake)",
    )


def _demo_data(args: argparse.Namespace) -> int:
    from leadops.demo_data import generate, is_empty

    if args.if_empty and not is_empty(args.out):
        print(f"{args.out} already has files; leaving them as they are")
        return 0
    summary = generate(
        args.out,
        leads=args.leads,
        seed=args.seed,
        end_date=args.end_date,
        events_per_lead=args.events_per_lead,
    )
    print(
        f"wrote {summary.accounts} accounts, {summary.leads} leads, {summary.events} events and "
        f"{summary.conversions} conversions to {summary.out}"
    )
    return 0


def _read_only(warehouse: Path):
    """The warehouse, read-only, when it is the product of a finished run; else (a refresh holds it
    or the last one did not finish) the published copy, which is whole, with a note on stderr."""
    from leadops.status import unfinished_run

    con, source, note = _open_for_reading(warehouse)
    if note is None and (unfinished := unfinished_run(con)):
        run_id, started = unfinished
        con.close()
        con, source, note = _open_published(
            warehouse, f"the last run {run_id} (started {started:%Y-%m-%d %H:%M:%S} UTC) did not finish"
        )
    if note:
        print(f"note: reading {source}: {note}", file=sys.stderr)
    return con


def _open_for_reading(warehouse: Path):
    """(connection, the file it reads, why that is not the warehouse or None)."""
    import duckdb

    if not warehouse.exists():
        raise UserError(f"the warehouse {warehouse} does not exist (run leadops run first)")
    try:
        return duckdb.connect(str(warehouse), read_only=True), warehouse, None
    except duckdb.IOException:
        from leadops.warehouse_lock import holder

        running = holder(warehouse)
        return _open_published(
            warehouse, f"a running refresh ({running.describe()})" if running else "a running refresh", locked=True
        )


def _open_published(warehouse: Path, why: str, locked: bool = False):
    import duckdb

    from leadops.exports import published_folder

    published = published_folder(warehouse) / "leadops.duckdb"
    if not published.exists():
        raise UserError(f"{warehouse} is {'locked by ' if locked else 'not whole: '}{why} and nothing is published yet")
    note = f"{warehouse} is {'locked by ' if locked else 'not whole: '}{why}; this is the last published state"
    return duckdb.connect(str(published), read_only=True), published, note


def _explain(args: argparse.Namespace) -> int:
    from leadops.run_report import explain_lead

    with _read_only(args.warehouse) as con:
        if not explain_lead(con, args.lead_id):
            raise UserError(f"no lead {args.lead_id!r} in {args.warehouse} (was it created after the as_of date?)")
    return 0


def _segments(args: argparse.Namespace) -> int:
    from leadops.exports import segment_counts

    with _read_only(args.warehouse) as con:
        for segment, leads in segment_counts(con):
            print(f"{segment:<16}{leads:>9}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from leadops.exports import export_segment

    with _read_only(args.warehouse) as con:
        try:
            rows = export_segment(con, args.segment, args.format, args.out)
        except ValueError as error:
            raise UserError(str(error)) from None
    print(f"wrote {rows} leads of segment {args.segment} to {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    """The Dagster `retrain` job in this process, on the marts of the last refresh."""
    from leadops.config import ConfigError, load_config

    if not args.warehouse.exists():
        raise UserError(f"the warehouse {args.warehouse} does not exist (run leadops run first)")
    try:
        load_config(args.config)
    except ConfigError as error:
        raise UserError(str(error)) from None
    if args.if_untrained and (model := _trained_model(args.warehouse)):
        print(f"model {model} is already trained; `leadops train` retrains")
        return 0
    os.environ["LEADOPS_WAREHOUSE"] = str(args.warehouse.resolve())
    os.environ["LEADOPS_CONFIG"] = str(args.config.resolve())
    from orchestration.definitions import defs

    log_path = args.warehouse.parent / "logs" / "last_training.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        result = defs.resolve_job_def("retrain").execute_in_process(
            instance=_instance(),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            print(
                f"ERROR step {event.step_key} failed: {event.event_specific_data.error.message.strip()}",
                file=sys.stderr,
            )
    import duckdb

    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        row = con.execute(
            "select message, excluded from marts.model_versions order by trained_at desc limit 1"
        ).fetchone()
    if row:
        print(row[0])
        leaks = [e for e in (row[1] or "").split("; ") if e and "not in the chosen feature set" not in e]
        for exclusion in leaks:
            print(f"excluded {exclusion}")
    return 0 if result.success else 1


def _trained_model(warehouse: Path) -> str | None:
    import duckdb

    from leadops.predictive import latest_model

    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = latest_model(con)
    return found[0] if found else None


def _status(args: argparse.Namespace) -> int:
    """Reads the warehouse; while a refresh holds it, the published copy (as of the last refresh)."""
    from leadops.status import print_status
    from leadops.warehouse_lock import holder

    con, source, note = _open_for_reading(args.warehouse)
    with con:
        return print_status(con, f"{source} ({note})" if note else str(source), holder(args.warehouse))


def _lake_export(args: argparse.Namespace) -> int:
    from leadops.lake import export_lake

    if not args.warehouse.exists():
        raise UserError(f"the warehouse {args.warehouse} does not exist (run leadops run first)")
    for table, rows in export_lake(args.warehouse, args.out).items():
        print(f"{table}: {rows} rows")
    print(f"lake written to {args.out}")
    return 0


def _prepare(_: argparse.Namespace) -> int:
    from orchestration.project import prepare_manifest

    prepare_manifest(force=True)
    print("dbt manifest ready")
    return 0


def _run(args: argparse.Namespace) -> int:
    from leadops.dates import today

    as_of = args.as_of or today()
    _prepare_run(args)
    if _refresh(args, as_of):
        return 1
    if args.dbt_target != "duckdb":
        print(f"the marts were built on {args.dbt_target}; query them there")
    elif not args.quiet:
        from leadops.run_report import print_summary

        print_summary(args.warehouse, as_of)
    return 0


def _backfill(args: argparse.Namespace) -> int:
    """Recompute past dates, oldest first, then the latest date again so the marts stay current."""
    if args.end < args.start:
        raise UserError("--end is before --start")
    _prepare_run(args)
    latest = _latest_history_date(args.warehouse)
    dates = [args.start + timedelta(days=n) for n in range((args.end - args.start).days + 1)]
    if latest and latest > args.end:
        dates.append(latest)
    for as_of in dates:
        print(f"backfill as of {as_of}")
        if _refresh(args, as_of):
            return 1
    print(f"recomputed {len(dates)} date(s) of marts.lead_score_history and marts.segment_changes")
    return 0


def _latest_history_date(warehouse: Path) -> date | None:
    if not warehouse.exists():
        return None
    import duckdb

    from leadops.sql import table_exists

    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not table_exists(con, "marts", "lead_score_history"):
            return None
        return con.execute("select max(as_of_date) from marts.lead_score_history").fetchone()[0]


def _prepare_run(args: argparse.Namespace) -> None:
    from leadops.config import ConfigError, load_config

    try:
        load_config(args.config)  # fail before any work, with the entry and the problem named
    except ConfigError as error:
        raise UserError(str(error)) from None
    if not args.landing.is_dir():
        raise UserError(
            f"the landing folder {args.landing} does not exist (try: leadops demo-data --out {args.landing})"
        )
    args.warehouse.parent.mkdir(parents=True, exist_ok=True)
    os.environ["LEADOPS_LANDING"] = str(args.landing.resolve())
    os.environ["LEADOPS_WAREHOUSE"] = str(args.warehouse.resolve())
    os.environ["LEADOPS_CONFIG"] = str(args.config.resolve())
    os.environ["LEADOPS_DBT_TARGET"] = args.dbt_target
    os.environ["LEADOPS_LAKE"] = str(args.lake.resolve())

    from orchestration.project import prepare_manifest

    prepare_manifest()


def _refresh(args: argparse.Namespace, as_of: date) -> int:
    """One run of the Dagster `refresh` job as of a date; prints what it did, returns the problem count."""
    from leadops.run_output import RunLog
    from orchestration.definitions import defs
    from orchestration.resources import AS_OF_TAG

    started = time.perf_counter()
    instance = _instance()
    # Dagster's and dbt's lines, stack traces included, go to the run's log; the terminal gets the causes.
    with (
        RunLog(args.warehouse.parent / "logs") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        result = defs.resolve_job_def("refresh").execute_in_process(
            instance=instance,
            tags={AS_OF_TAG: as_of.isoformat()},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    failure = _record(instance, result.run_id, args.warehouse)
    problems = _report(result, time.perf_counter() - started, args.quiet)
    if problems:
        cause = f": {failure}" if failure else ""
        print(f"\nleadops run as of {as_of} FAILED: {problems} problem(s) above{cause}", file=sys.stderr)
    print(f"run log: {log.describe()}", file=sys.stderr if problems else sys.stdout)
    return problems


def _report(result, seconds: float, quiet: bool) -> int:
    """The run report; with --quiet, each failed step's one-line cause instead of its error chain."""
    import io

    from leadops.run_output import one_line_causes
    from leadops.run_report import report_run

    if not quiet:
        return report_run(result, seconds)
    findings = io.StringIO()
    with contextlib.redirect_stderr(findings):
        problems = report_run(result, seconds)
    print(one_line_causes(findings.getvalue()), end="", file=sys.stderr)
    return problems


def _record(instance, run_id: str, warehouse: Path) -> str | None:
    """Record the run in the warehouse's run log (the daemon's run-status sensors do this for its
    runs); return the run's failure in one line. A run log that cannot be written is reported, not
    raised: on a full disk the run's own failure is the news."""
    import duckdb

    from orchestration.automation import record_run_log, summarise_run_log

    run = instance.get_run_by_id(run_id)
    try:
        return record_run_log(instance, run, str(warehouse)).failure
    except (duckdb.Error, OSError) as error:
        print(f"ERROR the run could not be recorded in {warehouse}: {error}", file=sys.stderr)
        return summarise_run_log(instance, run).failure


def _instance():
    """The persistent instance of `make ui` when DAGSTER_HOME is set, so runs show in the UI."""
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


if __name__ == "__main__":
    entrypoint()
