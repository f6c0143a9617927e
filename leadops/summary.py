"""What a refresh leaves for people: the scored segments, and how one lead's score was made."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb


def print_summary(warehouse: Path, as_of: date, published: Path, top: int = 10) -> None:
    """The segments as of `as_of` and the top leads, and where readers find them (`published`)."""
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
