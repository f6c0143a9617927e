"""What a refresh did, read from its Dagster events: ingest counts, failed steps and checks, the gates' cost."""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class RunSummary:
    problems: int = 0
    gate_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def report_run(result, wall_seconds: float) -> int:
    """Print ingest counts, failed steps and checks and the gates' cost; return the problem count."""
    summary = RunSummary()
    check_only_steps = _check_only_steps(result)
    for event in result.all_events:
        data = event.event_specific_data
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            _print_ingest(data.materialization)
        elif kind == "ASSET_CHECK_EVALUATION":
            meta = {k: v.value for k, v in data.metadata.items()}
            summary.gate_seconds["expectations on new files"] += meta.get("gate_seconds", 0.0)
            summary.gate_seconds["dbt tests (summed over threads)"] += meta.get("Execution Duration", 0.0)
            if not data.passed:
                summary.problems += _print_failed_check(data, meta)
        elif kind == "STEP_SUCCESS" and event.step_key in check_only_steps:
            summary.gate_seconds["checks on tables"] += data.duration_ms / 1000
        elif kind == "STEP_FAILURE":
            summary.problems += 1
            error = data.error
            message = error.message.strip() if error else event.message
            while error and error.cause:
                error = error.cause
                message += f"\n    caused by: {error.message.strip()}"
            print(f"ERROR step {event.step_key} failed: {message}", file=sys.stderr)
    if not result.success and summary.problems == 0:
        summary.problems = 1
        print("ERROR the run did not succeed", file=sys.stderr)
    gates = sum(summary.gate_seconds.values())
    parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.gate_seconds.items() if seconds)
    print(f"quality gates: {gates:.1f} s of the run's {wall_seconds:.1f} s ({gates / wall_seconds:.0%}): {parts}")
    return summary.problems


def _check_only_steps(result) -> set[str]:
    """Steps that evaluated checks and materialized nothing: the separate asset checks."""
    checks, materializations = set(), set()
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            checks.add(event.step_key)
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materializations.add(event.step_key)
    return checks - materializations


def _print_ingest(materialization) -> None:
    key = materialization.asset_key.to_user_string()
    if not key.startswith("raw/"):
        return
    meta = {k: v.value for k, v in materialization.metadata.items()}
    print(
        f"{key}: {meta['files_loaded']} file(s) loaded, {meta['files_skipped']} skipped, "
        f"{meta['files_rejected']} rejected; rows read {meta['rows_read']}, loaded "
        f"{meta['rows_loaded']}, quarantined {meta['rows_quarantined']}"
    )
    for file in meta.get("file_reports", []):
        if file["quarantined"]:
            print(f"  {file['file']}: {file['quarantined']} of {file['read']} rows quarantined (see raw.quarantine)")
        for note in file.get("notes", []):
            print(f"  {file['file']}: {note}")
        for warning in file["warnings"]:
            print(f"  {file['file']}: warning: {warning}")


def _print_failed_check(data, meta: dict) -> int:
    is_error = data.severity.value == "ERROR"
    detail = "\n    ".join(meta.get("rejected") or []) or data.description or ""
    key = data.asset_check_key
    print(
        f"{'ERROR' if is_error else 'WARN'} check {key.asset_key.to_user_string()}:{key.name} failed "
        f"({meta.get('failing_count', '?')} failing): {detail}",
        file=sys.stderr,
    )
    return int(is_error)
