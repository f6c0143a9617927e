"""`leadops preview`: rescore every lead under a candidate scoring configuration, read-only.

The warehouse is attached read-only in an in-memory DuckDB; the candidate's scores are rebuilt
there from the pipeline's compiled dbt models (leadops/preview/overlay.py), and compared with the
warehouse's own scores (the configuration as last run) or with those of `--against OTHER.yml`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from cli.errors import UserError
from leadops.settings import Settings

# The dbt project beside the packages (orchestration.project names the same folder; importing it
# would load dagster-dbt, 2.5 s of a preview that should take 1).
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def add_parser(commands) -> None:
    preview = commands.add_parser(
        "preview",
        help="rescore every lead under a candidate scoring.yml and show what moves; writes nothing",
        description=(
            "Rescore every lead under CANDIDATE.yml from the warehouse, read-only, with the pipeline's own "
            "compiled dbt models, and compare with the warehouse's scores (the configuration as last run) or "
            "with --against OTHER.yml: segment transitions, win rates, converters reaching the two highest "
            "segments, ROC AUC, and the leads that move most with the factors that moved them."
        ),
    )
    preview.add_argument("--config", dest="candidate", type=Path, required=True, help="candidate scoring configuration")
    preview.add_argument(
        "--against", type=Path, default=None, help="baseline configuration (default: the warehouse's scores as run)"
    )
    preview.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB file (default LEADOPS_WAREHOUSE, else data/warehouse.duckdb)",
    )
    preview.add_argument(
        "--out", type=Path, default=None, help="also write preview.md and transitions, movers, segments .parquet here"
    )
    preview.set_defaults(handler=run_preview)


def run_preview(args: argparse.Namespace, settings: Settings) -> int:
    from leadops.config import ConfigError, load_config
    from leadops.preview.compiled import CompileError, compiled_project
    from leadops.preview.overlay import (
        WarehouseLocked,
        build_overlay,
        open_warehouse,
        warehouse_as_of,
        warehouse_scoring,
    )
    from leadops.preview.report import make_preview, render, write_out
    from leadops.sources.mapping import load_mapping
    from leadops.status import unfinished_run
    from leadops.warehouse_lock import holder

    started = time.perf_counter()
    event_types = tuple(load_mapping(settings.source).event_types)
    try:  # a bad file fails before any work, naming the entry
        candidate = load_config(args.candidate, event_types)
        against = load_config(args.against, event_types) if args.against else None
    except ConfigError as error:
        raise UserError(str(error)) from None
    warehouse = settings.warehouse
    if not warehouse.exists():
        raise UserError(f"the warehouse {warehouse} does not exist (run leadops run first)")
    running = holder(warehouse)  # a refresh between two steps holds the lock, not yet DuckDB's
    if running:
        raise UserError(_locked(warehouse, running))
    try:
        project = compiled_project(DBT_PROJECT_DIR, DBT_PROJECT_DIR / "target" / "manifest.json", _cache_dir())
    except CompileError as error:
        raise UserError(str(error)) from None
    try:
        con, alias = open_warehouse(warehouse, settings.duckdb_memory_limit)
    except WarehouseLocked:
        raise UserError(_locked(warehouse, holder(warehouse))) from None
    except ValueError as error:
        raise UserError(str(error)) from None
    with con:
        unfinished = unfinished_run(_in(con, alias))
        if unfinished:
            raise UserError(
                f"the last run {unfinished[0]} of {warehouse} did not finish: its tables may mix two runs; "
                "run leadops run again before a preview"
            )
        as_of = warehouse_as_of(con, alias)
        if as_of is None:
            raise UserError(f"{warehouse} has no scores yet (run leadops run first)")
        if against is None:
            baseline, baseline_name = warehouse_scoring(alias), "the warehouse (as last run)"
        else:
            baseline = build_overlay(con, project, against, as_of, alias, "baseline")
            baseline_name = str(args.against)
        scoring = build_overlay(con, project, candidate, as_of, alias, "candidate")
        preview = make_preview(con, baseline, scoring, as_of, (baseline_name, str(args.candidate)))
        preview.seconds = time.perf_counter() - started
        print(render(preview), end="")
        if args.out:
            written = write_out(con, preview, args.out)
            print(f"\nwrote {', '.join(p.name for p in written)} to {args.out}")
    return 0


def _locked(warehouse: Path, running) -> str:
    return (
        f"{warehouse} is locked by a running refresh"
        + (f" ({running.describe()})" if running else "")
        + ": a preview rescores from the raw data and the intermediate tables, which the published copy "
        "does not hold (it has the marts only), so it cannot run from that copy meanwhile; "
        "run the preview when the refresh ends"
    )


def _in(con, catalog: str):
    """The connection with `catalog` as its default, for helpers that read unqualified names."""
    from leadops.sql import quote_identifier

    con.execute(f"use {quote_identifier(catalog)}")
    return con


def _cache_dir() -> Path:
    """Where the compiled models are kept: the user's cache, never the data or the dbt target."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leadops" / "preview"
