"""What a refresh did, in words and numbers: ingest counts, failures, gate costs, the scored segments."""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from leadops.exports import published_folder


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


def print_summary(warehouse: Path, as_of: date, top: int = 10) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        segments = con.execute(
            "select segment, count(*) as leads, round(avg(score), 1) from marts.lead_scores "
            "group by segment order by min(score) desc, segment"  # cold and disqualified both reach 0
        ).fetchall()
        leaders = con.execute(
            "select lead_id, coalesce(company_name, ''), score, score_label, segment from marts.lead_scores "
            "where not is_disqualified order by score desc, lead_id limit ?",
            [top],
        ).fetchall()
    total = sum(row[1] for row in segments)
    print(f"\nLeads per segment as of {as_of} ({total} leads):")
    for segment, leads, average in segments:
        print(f"  {segment:<14}{leads:>9}  avg score {average}")
    print(f"\nTop {top} leads:")
    print(f"  {'lead_id':<12}{'company':<26}{'score':>7}  grade  segment")
    for lead_id, company, score, label, segment in leaders:
        print(f"  {lead_id:<12}{company[:24]:<26}{score:>7}  {label:<5}  {segment}")
    published = published_folder(warehouse)
    print(f"\nRead the published copy (safe during refreshes): duckdb -readonly {published / 'leadops.duckdb'}")
    print(f"Segment exports: {published / 'exports'}")


def explain_lead(con: duckdb.DuckDBPyConnection, lead_id: str) -> bool:
    """Print a lead's score factor by factor; False when there is no such lead."""
    lead = con.execute(
        "select lead_id, coalesce(first_name || ' ' || last_name, email), coalesce(company_name, ''), score, "
        "score_label, segment, as_of_date, fit_points, engagement_points, negative_points, disqualified_by "
        "from marts.lead_scores where lead_id = ?",
        [lead_id],
    ).fetchone()
    if lead is None:
        return False
    lead_id, name, company, score, label, segment, as_of, fit, engagement, negative, disqualified_by = lead
    print(f"{lead_id}  {name}  {company}".rstrip())
    print(f"score {score} ({label}), segment {segment}, as of {as_of}")
    print(f"fit {fit}, engagement {engagement}, negative {negative}")
    if disqualified_by:
        print(f"disqualified by {disqualified_by}")
    factors = con.execute(
        "select factor_group, factor, points, coalesce(evidence, '') from marts.lead_score_factors "
        "where lead_id = ? order by case factor_group when 'fit' then 1 when 'engagement' then 2 "
        "when 'negative' then 3 when 'disqualifier' then 4 else 5 end, points desc, factor",
        [lead_id],
    ).fetchall()
    print(f"\n  {'group':<13}{'factor':<28}{'points':>8}  evidence")
    for group, factor, points, evidence in factors:
        print(f"  {group:<13}{factor:<28}{points:>8}  {evidence}")
    total = sum(points for _, _, points, _ in factors)
    print(f"  {'':<13}{'score = sum of the factors':<28}{total:>8}")
    from leadops.predictive import explain_prediction

    print()
    for line in explain_prediction(con, lead_id):
        print(line)
    return True
