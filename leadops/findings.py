"""Findings about a refresh's scores as a whole, in words: none scored, or none the rules can rank.

Both are silent otherwise: an empty lead_scores only surfaced as a crash of the predictions step,
and a data set the rules do not fit (no activity, none of the attributes they read) scored every
lead 0 and put them all in one segment without a word.
"""

from __future__ import annotations

from datetime import date

import duckdb

from leadops.sql import table_exists

# A fit rule's attribute and the int_leads_enriched column it reads (int_fit_rules_matched); the
# title-derived ones are 'unknown' when no keyword matched, which no rule is meant to see.
ATTRIBUTE_COLUMNS = {"country": "country_code"}
UNKNOWN_WHEN_UNMATCHED = ("seniority", "department")


def no_leads_scored(con: duckdb.DuckDBPyConnection, as_of: date) -> str | None:
    """Why marts.lead_scores is empty, or None when it is not."""
    if con.execute("select count(*) from marts.lead_scores").fetchone()[0]:
        return None
    loaded = con.execute("select count(*) from raw.leads").fetchone()[0] if table_exists(con, "raw", "leads") else 0
    why = (
        "no leads file has been loaded (a rejected file says why above)"
        if not loaded
        else f"none of the {loaded} leads in raw.leads was created by {as_of}"
    )
    return f"no leads scored as of {as_of}: {why}"


def unrankable_scores(con: duckdb.DuckDBPyConnection) -> tuple[int, str] | None:
    """(leads, why) when two or more leads all have one score: the rules cannot rank them."""
    leads, scores, score, segments = con.execute(
        "select count(*), count(distinct score), min(score), string_agg(distinct segment, ', ') from marts.lead_scores"
    ).fetchone()
    if leads < 2 or scores != 1:
        return None
    groups = {
        group for (group,) in con.execute("select distinct factor_group from marts.lead_score_factors").fetchall()
    }
    reasons = []
    if "engagement" not in groups:
        reasons.append(_no_engagement(con))
    if "fit" not in groups:
        reasons.append(_no_fit(con))
    why = "; ".join(reasons) or "every lead has the same factors"
    flat = f"all {leads} leads score {float(score):g} (segment {segments})"
    return leads, f"{flat}: the rules cannot rank these leads, because {why}"


def _no_engagement(con: duckdb.DuckDBPyConnection) -> str:
    events = (
        con.execute("select count(*) from raw.activity").fetchone()[0] if table_exists(con, "raw", "activity") else 0
    )
    if not events:
        return "there are no events (raw.activity is empty), so no engagement rule can add points"
    return f"none of the {events} events earns points from an engagement rule by the as_of date"


def _no_fit(con: duckdb.DuckDBPyConnection) -> str:
    used = [a for (a,) in con.execute("select distinct attribute from config.fit_rules order by 1").fetchall()]
    present = [attribute for attribute in used if _has_values(con, attribute)]
    if not present:
        return (
            f"no fit attribute is present: the fit rules use {', '.join(used)}, and no lead has a value for any of them"
        )
    return f"no lead matches a fit rule, though some have {', '.join(present)}"


def _has_values(con: duckdb.DuckDBPyConnection, attribute: str) -> bool:
    column = ATTRIBUTE_COLUMNS.get(attribute, attribute)  # attributes are a closed list (leadops.config)
    known = f" and {column} <> 'unknown'" if attribute in UNKNOWN_WHEN_UNMATCHED else ""
    sql = (
        f"select count(*) from intermediate.int_leads_enriched where {column} is not null{known} "
        "and lead_id in (select lead_id from marts.lead_scores)"
    )
    return bool(con.execute(sql).fetchone()[0])
