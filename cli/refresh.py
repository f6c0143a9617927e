"""The commands that write: `run`, `backfill` and `train` execute the Dagster jobs in this process,
on definitions built from the command's settings; `prepare` parses the dbt project."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from cli.errors import UserError
from leadops.settings import Settings

QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.dates import today

    as_of = args.as_of or today(settings.timezone)
    with validation_process():
        _check_inputs(settings)
        if _refresh(settings, as_of, args.quiet):
            return 1
    if not settings.is_embedded:
        print(f"the marts were built on {settings.dbt_target}; query them there")
    elif not args.quiet:
        from leadops.summary import print_summary

        print_summary(settings.warehouse, as_of, settings.published_folder)
    return 0


def backfill(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute past dates, oldest first, then the latest date again so the marts stay current."""
    if args.end < args.start:
        raise UserError("--end is before --start")
    with validation_process():
        _check_inputs(settings)
        latest = _latest_history_date(settings.warehouse)
        dates = [args.start + timedelta(days=n) for n in range((args.end - args.start).days + 1)]
        if latest and latest > args.end:
            dates.append(latest)
        for as_of in dates:
            print(f"backfill as of {as_of}")
            if _refresh(settings, as_of, args.quiet):
                return 1
    print(f"recomputed {len(dates)} date(s) of marts.lead_score_history and marts.segment_changes")
    return 0


def train(args: argparse.Namespace, settings: Settings) -> int:
    """The Dagster `retrain` job in this process, on the marts of the last refresh."""
    import duckdb

    from orchestration.definitions import build_definitions

    if not settings.warehouse.exists():
        raise UserError(f"the warehouse {settings.warehouse} does not exist (run leadops run first)")
    _check_config(settings)
    if args.if_untrained and (model := _trained_model(settings.warehouse)):
        print(f"model {model} is already trained; `leadops train` retrains")
        return 0
    log_path = settings.warehouse.parent / "logs" / "last_training.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        result = (
            build_definitions(settings)
            .resolve_job_def("retrain")
            .execute_in_process(instance=_instance(), raise_on_error=False, run_config=QUIET_LOGGERS)
        )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            print(
                f"ERROR step {event.step_key} failed: {event.event_specific_data.error.message.strip()}",
                file=sys.stderr,
            )
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        row = con.execute(
            "select message, excluded from marts.model_versions order by trained_at desc limit 1"
        ).fetchone()
    if row:
        print(row[0])
        leaks = [e for e in (row[1] or "").split("; ") if e and "not in the chosen feature set" not in e]
        for exclusion in leaks:
            print(f"excluded {exclusion}")
    return 0 if result.success else 1


@contextlib.contextmanager
def validation_process():
    """Great Expectations imported in a process of its own from the command's start, while this one
    imports Dagster (leadops.validation.start_validation_process: 2.5 s of a night)."""
    from leadops.validation import start_validation_process, stop_validation_process

    start_validation_process()
    try:
        yield
    finally:
        stop_validation_process()


def prepare(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.project import prepare_manifest

    prepare_manifest(force=True)
    print("dbt manifest ready")
    return 0


def _check_config(settings: Settings) -> None:
    from leadops.config import ConfigError, load_config
    from leadops.sources.mapping import load_mapping

    try:  # fail before any work, with the entry and the problem named
        load_config(settings.config, tuple(load_mapping(settings.source).event_types))
    except ConfigError as error:
        raise UserError(str(error)) from None


def _check_inputs(settings: Settings) -> None:
    from leadops.sources.mapping import load_mapping
    from orchestration.project import prepare_manifest

    _check_config(settings)
    mapping = load_mapping(settings.source)  # a bad mapping fails here, naming its entry, before any work
    if settings.reads_source_in_engine:  # the sync's tables are in the Spark catalog: nothing to look at here
        from leadops.sources.engine_sql import FeedUnavailable, engine_schema

        if settings.is_embedded:
            raise UserError(
                "--source-database spark reads a sync's tables in the Spark catalog: add --dbt-target spark"
            )
        try:
            engine_schema(settings.source_schema, mapping)
        except FeedUnavailable as error:
            raise UserError(str(error)) from None
    elif settings.source_database is not None:
        from leadops.sources.extract import source_database

        source_database(settings, mapping)  # an unsupported URL is refused here, before any work
    elif not settings.landing.is_dir():
        raise UserError(
            f"the landing folder {settings.landing} does not exist (try: leadops demo-data --out {settings.landing})"
        )
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    prepare_manifest()


def _refresh(settings: Settings, as_of: date, quiet: bool) -> int:
    """One run of the Dagster `refresh` job as of a date; prints what it did, returns the problem count."""
    from leadops.run_output import RunLog
    from orchestration.definitions import build_definitions
    from orchestration.progress import RunProgress
    from orchestration.resources import AS_OF_TAG

    started = time.perf_counter()
    job = build_definitions(settings).resolve_job_def("refresh")
    instance = _instance()
    # Dagster's and dbt's lines, stack traces included, go to the run's log; the terminal gets the causes
    # and, on stderr (taken before the redirect), each step's progress.
    with (
        RunProgress(instance, stream=sys.stderr, enabled=not quiet) as progress,
        RunLog(settings.warehouse.parent / "logs") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        result = job.execute_in_process(
            instance=instance,
            run_id=progress.run_id,
            tags={AS_OF_TAG: as_of.isoformat()},
            raise_on_error=False,
            run_config=QUIET_LOGGERS,
        )
    failure = _record(instance, result.run_id, settings.warehouse)
    problems = _report(result, time.perf_counter() - started, quiet)
    if problems:
        cause = f": {failure}" if failure else ""
        print(f"\nleadops run as of {as_of} FAILED: {problems} problem(s) above{cause}", file=sys.stderr)
    print(f"run log: {log.describe()}", file=sys.stderr if problems else sys.stdout)
    return problems


def _report(result, seconds: float, quiet: bool) -> int:
    """The run report; with --quiet, each failed step's one-line cause instead of its error chain."""
    from leadops.run_output import one_line_causes
    from orchestration.run_report import report_run

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

    from orchestration.run_log import record_run_log, summarise_run_log

    run = instance.get_run_by_id(run_id)
    try:
        return record_run_log(instance, run, str(warehouse)).failure
    except (duckdb.Error, OSError) as error:
        print(f"ERROR the run could not be recorded in {warehouse}: {error}", file=sys.stderr)
        return summarise_run_log(instance, run).failure


def _latest_history_date(warehouse: Path) -> date | None:
    if not warehouse.exists():
        return None
    import duckdb

    from leadops.sql import table_exists

    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not table_exists(con, "marts", "lead_score_history"):
            return None
        return con.execute("select max(as_of_date) from marts.lead_score_history").fetchone()[0]


def _trained_model(warehouse: Path) -> str | None:
    import duckdb

    from leadops.predictive import latest_model

    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = latest_model(con)
    return found[0] if found else None


def _instance():
    """The persistent instance of `make ui` when DAGSTER_HOME (Dagster's own variable) is set, so
    runs show in the UI; else one that lives as long as the command."""
    from dagster import DagsterInstance

    if not os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.ephemeral()
    home = Path(os.environ["DAGSTER_HOME"])
    if not home.is_dir():
        raise UserError(f"DAGSTER_HOME={home} is not a folder: create it, or unset DAGSTER_HOME for a run of its own")
    return DagsterInstance.get()
