"""What a refresh did, in words and numbers: ingest counts, failures, and the scored segments."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import duckdb


def report_run(result) -> int:
    """Print ingest counts, failed steps and failed checks of a Dagster run; return the problem count."""
    problems = 0
    for event in result.all_events:
        data = event.event_specific_data
        if event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = data.materialization
            key = materialization.asset_key.to_user_string()
            meta = {k: v.value for k, v in materialization.metadata.items()}
            if key.startswith("raw/"):
                print(
                    f"{key}: {meta['files_loaded']} file(s) loaded, {meta['files_skipped']} skipped, "
                    f"{meta['files_rejected']} rejected; rows read {meta['rows_read']}, loaded "
                    f"{meta['rows_loaded']}, quarantined {meta['rows_quarantined']}"
                )
        elif event.event_type_value == "ASSET_CHECK_EVALUATION" and not data.passed:
            is_error = data.severity.value == "ERROR"
            problems += is_error
            meta = {k: v.value for k, v in data.metadata.items()}
            detail = data.description or ""
            rejected = meta.get("rejected") or []
            if rejected:
                detail = "\n    ".join(rejected)
            print(
                f"{'ERROR' if is_error else 'WARN'} check {data.asset_check_key.asset_key.to_user_string()}"
                f":{data.asset_check_key.name} failed ({meta.get('failing_count', '?')} failing): {detail}",
                file=sys.stderr,
            )
        elif event.event_type_value == "STEP_FAILURE":
            problems += 1
            error = data.error
            message = error.message.strip() if error else event.message
            while error and error.cause:
                error = error.cause
                message += f"\n    caused by: {error.message.strip()}"
            print(f"ERROR step {event.step_key} failed: {message}", file=sys.stderr)
    if not result.success and problems == 0:
        problems = 1
        print("ERROR the run did not succeed", file=sys.stderr)
    return problems


def print_summary(warehouse: Path, as_of: date, top: int = 10) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        segments = con.execute(
            "select segment, count(*) as leads, round(avg(score), 1) from marts.lead_scores "
            "group by segment order by min(score) desc"
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
    print(f"\nTables are in {warehouse} (schema marts), e.g. duckdb {warehouse} -c 'from marts.segment_members'")
