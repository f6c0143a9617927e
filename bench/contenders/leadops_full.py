"""leadops, everything included: `leadops run` (ingest, dbt build with its tests, checks, publishing).

Runs the CLI in this process, exactly as `leadops run --quiet` would; the only addition is that the
run's step durations and dbt's per-node timings are reported to the harness for the profile.
"""

from __future__ import annotations

import json
import sys
import time

from bench.contenders._common import PROJECT_ROOT, parser, report

DBT_TARGET = PROJECT_ROOT / "dbt_project" / "target"


def main(argv: list[str] | None = None, require_warehouse: bool = False) -> int:
    args = parser(__doc__).parse_args(argv)
    if require_warehouse and not args.out.exists():
        print(f"{args.out} does not exist: the incremental case runs on an already-built warehouse", file=sys.stderr)
        return 2
    steps = _record_step_durations()
    from cli.main import main as leadops

    command = ["run", "--landing", str(args.landing), "--warehouse", str(args.out)]
    command += ["--as-of", args.as_of.isoformat(), "--config", str(args.config), "--quiet"]
    started_at = time.time()
    started = time.perf_counter()
    code = leadops(command)
    core = time.perf_counter() - started
    report(core_s=round(core, 3), exit_code=code, steps=steps, dbt=dbt_timings(started_at))
    return code


def _record_step_durations() -> dict[str, float]:
    """Wrap the CLI's run report so the harness also gets each Dagster step's seconds."""
    import orchestration.run_report as run_report

    steps: dict[str, float] = {}
    original = run_report.report_run

    def report_run(result, wall_seconds):
        for event in result.all_events:
            if event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                duration = getattr(event.event_specific_data, "duration_ms", None)
                if duration is not None:
                    steps[event.step_key] = round(duration / 1000, 3)
        return original(result, wall_seconds)

    run_report.report_run = report_run
    return steps


def dbt_timings(started_at: float) -> dict:
    """Per-node seconds from the run_results.json of this run's `dbt build` (the newest since it started)."""
    candidates = sorted(
        (p for p in DBT_TARGET.glob("*/run_results.json") if p.stat().st_mtime >= started_at),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in candidates:
        results = json.loads(path.read_text(encoding="utf-8"))
        if results.get("args", {}).get("which") != "build":
            continue
        nodes = {r["unique_id"]: round(r["execution_time"], 3) for r in results["results"]}
        return {"run_results": str(path), "elapsed_s": round(results.get("elapsed_time", 0.0), 3), "nodes": nodes}
    return {}


if __name__ == "__main__":
    sys.exit(main())
