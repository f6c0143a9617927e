"""The benchmark harness: `python -m bench --scale small|medium|large|all` (what `make bench` runs).

Generates (or reuses) the scale's data, runs every contender on the same files in its own process,
checks that their final tables are equal, measures the import cost of the Dagster definitions, and
writes bench/results/<scale>.json, latest.json and latest.md. Exits 1 when a contender failed or the
tables differ: a benchmark of wrong answers is worthless.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench import report
from bench.compare import compare_all, one_pass_gap
from bench.contenders.duckdb_floor import compile_plan
from bench.data import IN_ALL, SCALES, Dataset, Scale, dataset, event_counts, fresh_landing
from bench.measure import GIB, Measurement, best_of_each, run_measured

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = (
    "leadops_full",
    "duckdb_one_pass",
    "sync_changes",
    "preview_threshold",
    "preview_engagement",
    "leadops_incremental",
    "duckdb_floor",
    "pandas_peer",
)
# Measured on another contender's output, not a scoring of its own, or (duckdb_one_pass) a scoring
# that leaves parts of the model out on purpose: never compared row by row.
NOT_COMPARED = ("duckdb_one_pass", "sync_changes", "preview_threshold", "preview_engagement")
IMPORT_RUNS = 5


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = list(IN_ALL) if args.scale == "all" else [args.scale]
    failures = 0
    for name in names:
        failures += run_scale(SCALES[name], args)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=[*SCALES, "all"], default="small", help="data size (default small)")
    parser.add_argument("--seed", type=int, default=7, help="demo-data seed (default 7)")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--rss-cap-gib", type=float, default=20.0, help="stop a contender beyond this RSS")
    parser.add_argument("--timeout-minutes", type=float, default=120.0, help="stop a contender after this long")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-time measurement")
    return parser


class Runner:
    """Runs contender modules in their own processes, with the same limits and environment."""

    def __init__(self, work: Path, args: argparse.Namespace):
        self.work = work
        self.rss_cap = int(args.rss_cap_gib * GIB)
        self.timeout = args.timeout_minutes * 60
        # No DAGSTER_HOME: each leadops run gets an ephemeral instance, as in CI, not the UI's history.
        self.env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}

    def run(self, label: str, contender: str, landing: Path, as_of, out: Path, *extra: str) -> Measurement:
        command = [sys.executable, "-m", f"bench.contenders.{contender}", "--landing", str(landing)]
        command += ["--as-of", as_of.isoformat(), "--out", str(out), *extra]
        print(f"  {label} ...", end=" ", flush=True)
        measured = run_measured(
            label,
            command,
            self.work / "logs" / f"{label}.log",
            cwd=PROJECT_ROOT,
            env=self.env,
            rss_cap_bytes=self.rss_cap,
            timeout_s=self.timeout,
        )
        print(f"{measured.outcome}, {measured.wall_s:.1f} s, {measured.peak_rss_gib:.2f} GiB", flush=True)
        if not measured.ok:
            print(f"    see {measured.log}", flush=True)
        return measured


def run_scale(scale: Scale, args: argparse.Namespace) -> int:
    print(f"benchmark at {scale.name} scale", flush=True)
    revision = report.git_revision(PROJECT_ROOT)  # at the start: the working tree may change during the run
    data = dataset(scale, args.seed)
    work = data.root / "runs"
    shutil.rmtree(work, ignore_errors=True)
    runner = Runner(work, args)
    # Before the contenders: pandas_peer holds 15 GiB at the large scale, which pushes the libraries'
    # files out of the page cache, and imports measured after it ran up to 1.74 times Dagster's.
    imports = None if args.no_imports else measure_imports(runner)
    measured, outputs, extra = {}, {}, {}
    for name in args.contenders:
        result, out = CONTENDER_RUNS[name](runner, data, work / name, extra)
        measured[name] = result
        if result.ok and name not in NOT_COMPARED:
            outputs[name] = out
    counts, mismatches = compare_all(outputs) if outputs else ({}, {})
    record = _record(scale, args.seed, data, measured, counts, mismatches, imports, extra)
    record["revision"] = revision
    # The report says at what a stopped contender was stopped (pandas_peer at the xlarge scale).
    record["limits"] = {"rss_cap_gib": args.rss_cap_gib, "timeout_minutes": args.timeout_minutes}
    report.write(record)
    print(f"results: {report.RESULTS / 'latest.md'}")
    failed = [n for n, m in measured.items() if not m.ok and not _expected_failure(n, m)]
    for name in failed:
        print(f"FAILED: {name} ({measured[name].outcome}), see {measured[name].log}", file=sys.stderr)
    if mismatches:
        print(f"NOT EQUAL: {', '.join(mismatches)} differ from {next(iter(outputs))}; see latest.md", file=sys.stderr)
    return len(failed) + len(mismatches)


def _expected_failure(name: str, measured: Measurement) -> bool:
    """pandas running out of memory at a large scale is a result, not a harness failure."""
    return name == "pandas_peer" and measured.outcome in ("out_of_memory", "rss_cap_exceeded")


def _run_full(runner: Runner, data: Dataset, folder: Path, _: dict) -> tuple[Measurement, Path]:
    out = folder / "warehouse.duckdb"
    return runner.run("leadops_full", "leadops_full", data.landing, data.as_of, out), out


def _run_incremental(runner: Runner, data: Dataset, folder: Path, extra: dict) -> tuple[Measurement, Path]:
    """Build the warehouse as of the day before from the base files (untimed), land the held-back day, rerun."""
    landing = fresh_landing(data.base_landing, folder / "landing")
    out = folder / "warehouse.duckdb"
    base = runner.run("leadops_incremental_base", "leadops_full", landing, data.as_of - timedelta(days=1), out)
    extra["leadops_incremental_base"] = base.to_json()
    if not base.ok:
        return base, out
    (landing / "activity" / data.held_back.name).symlink_to(data.held_back.resolve())
    return runner.run("leadops_incremental", "leadops_incremental", landing, data.as_of, out), out


def _run_sync_changes(runner: Runner, data: Dataset, folder: Path, _: dict) -> tuple[Measurement, Path]:
    """On leadops_full's warehouse, after it (CONTENDERS runs it first)."""
    out = folder.parent / "leadops_full" / "warehouse.duckdb"
    return runner.run("sync_changes", "sync_changes", data.landing, data.as_of, out), out


def _run_preview(change: str):
    """On leadops_full's warehouse, after it, read-only; the models compiled first (untimed)."""

    def run(runner: Runner, data: Dataset, folder: Path, extra: dict) -> tuple[Measurement, Path]:
        from cli.preview import DBT_PROJECT_DIR, _cache_dir
        from leadops.preview.compiled import compiled_project

        started = time.perf_counter()
        compiled_project(DBT_PROJECT_DIR, DBT_PROJECT_DIR / "target" / "manifest.json", _cache_dir())
        extra[f"preview_{change}_compile_s"] = round(time.perf_counter() - started, 3)
        out = folder.parent / "leadops_full" / "warehouse.duckdb"
        label = f"preview_{change}"
        return runner.run(label, "preview", data.landing, data.as_of, out, "--change", change), out

    return run


def _run_floor(runner: Runner, data: Dataset, folder: Path, extra: dict) -> tuple[Measurement, Path]:
    started = time.perf_counter()
    plan = compile_plan(data.as_of, folder / "compile")  # dbt compile: preparation, not timed
    extra["duckdb_floor_compile_s"] = round(time.perf_counter() - started, 3)
    out = folder / "result"
    return runner.run("duckdb_floor", "duckdb_floor", data.landing, data.as_of, out, "--plan", str(plan)), out


def _run_one_pass(runner: Runner, data: Dataset, folder: Path, extra: dict) -> tuple[Measurement, Path]:
    out = folder / "result"
    measured = runner.run("duckdb_one_pass", "duckdb_one_pass", data.landing, data.as_of, out)
    if measured.ok:
        warehouse = folder.parent / "leadops_full" / "warehouse.duckdb"  # CONTENDERS runs leadops_full first
        extra["duckdb_one_pass_gap"] = one_pass_gap(out / "lead_scores.parquet", warehouse)
    return measured, out


def _run_pandas(runner: Runner, data: Dataset, folder: Path, _: dict) -> tuple[Measurement, Path]:
    out = folder / "result"
    return runner.run("pandas_peer", "pandas_peer", data.landing, data.as_of, out), out


CONTENDER_RUNS = {
    "leadops_full": _run_full,
    "duckdb_one_pass": _run_one_pass,
    "sync_changes": _run_sync_changes,
    "preview_threshold": _run_preview("threshold"),
    "preview_engagement": _run_preview("engagement"),
    "leadops_incremental": _run_incremental,
    "duckdb_floor": _run_floor,
    "pandas_peer": _run_pandas,
}


def measure_imports(runner: Runner) -> dict:
    """What the UI, the daemon and every run pay before doing anything, against Dagster's own imports."""
    print("  imports ...", end=" ", flush=True)
    best = best_of_each(
        {
            "definitions": [sys.executable, "-c", "import orchestration.definitions"],
            "dagster": [sys.executable, "-c", "import dagster, dagster_dbt"],
        },
        IMPORT_RUNS,
        PROJECT_ROOT,
        runner.env,
    )
    definitions, dagster = best["definitions"], best["dagster"]
    print(f"{definitions:.2f} s against {dagster:.2f} s", flush=True)
    return {
        "runs": IMPORT_RUNS,
        "definitions_s": round(definitions, 3),
        "dagster_s": round(dagster, 3),
        "ratio": round(definitions / dagster, 3),
    }


def _record(scale, seed, data, measured, counts, mismatches, imports, extra) -> dict:
    contenders = {name: m.to_json() for name, m in measured.items()}
    gap = extra.pop("duckdb_one_pass_gap", None)
    return {
        "scale": {"name": scale.name, "leads": scale.leads, "events_per_lead": scale.events_per_lead},
        "seed": seed,
        "as_of": data.as_of.isoformat(),
        "measured_at": report.now(),
        "machine": report.machine(),
        "data": {"leads": scale.leads, **event_counts(data)},
        "contenders": contenders,
        "untimed_preparation": extra,
        "rows_out": counts,
        "reference": next(iter(counts), None),
        "mismatches": mismatches,
        "equal": not mismatches,
        "ratios": report.ratios(contenders, imports),
        "imports": imports,
        "one_pass_gap": gap,
    }
