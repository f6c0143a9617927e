"""Findings about a refresh's scores as a whole, in words: none scored, none the rules can rank, or
custom field values that a `between` rule cannot read as numbers.

Both are silent otherwise: an empty lead_scores only surfaced as a crash of the predictions step,
and a data set the rules do not fit (no activity, none of the attributes they read) scored every
lead 0 and put them all in one segment without a word.
"""

from __future__ import annotations

from datetime import date

import duckdb

from leadops.attributes import custom_field
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
    # A rule on a custom field that no file has is valid (the data may come later), but it is why it is silent.
    absent = [a for a in used if custom_field(a) and not _in_a_leads_file(con, custom_field(a))]
    files = f"; no loaded leads file has {', '.join(absent)}" if absent else ""
    if not present:
        return (
            f"no fit attribute is present: the fit rules use {', '.join(used)}, and no lead has a value for any of them"
            + files
        )
    return f"no lead matches a fit rule, though some have {', '.join(present)}{files}"


# The custom fields of each scored lead's CRM row (int_leads_enriched names the row it is).
CURRENT_FIELDS = """
    raw.lead_attributes as attributes
    inner join intermediate.int_leads_enriched as leads
        on attributes.lead_id = leads.lead_id
        and attributes._batch_id = leads.ingest_batch_id
        and attributes._line_number = leads.ingest_line_number
"""


def _in_a_leads_file(con: duckdb.DuckDBPyConnection, field: str) -> bool:
    if not table_exists(con, "raw", "lead_attributes"):
        return False
    return bool(con.execute("select count(*) from raw.lead_attributes where attribute = ?", [field]).fetchone()[0])


def _has_values(con: duckdb.DuckDBPyConnection, attribute: str) -> bool:
    field = custom_field(attribute)
    if field:
        return _in_a_leads_file(con, field) and bool(
            con.execute(f"select count(*) from {CURRENT_FIELDS} where attributes.attribute = ?", [field]).fetchone()[0]
        )
    column = ATTRIBUTE_COLUMNS.get(attribute, attribute)  # attributes are a closed list (leadops.attributes)
    known = f" and {column} <> 'unknown'" if attribute in UNKNOWN_WHEN_UNMATCHED else ""
    sql = (
        f"select count(*) from intermediate.int_leads_enriched where {column} is not null{known} "
        "and lead_id in (select lead_id from marts.lead_scores)"
    )
    return bool(con.execute(sql).fetchone()[0])


def unreadable_custom_numbers(con: duckdb.DuckDBPyConnection) -> tuple[int, str] | None:
    """(values, why) when a `between` fit rule on a custom field meets values that are not numbers.

    Such a value ('n/a', '1,234') matches no range, so the rule is silently weaker than it reads;
    None when every value is a number, or no `between` rule reads a custom field."""
    fields = con.execute(
        "select attribute, string_agg(distinct rule_name, ', ' order by rule_name) from config.fit_rules "
        "where match_type = 'between' and attribute like 'custom.%' group by attribute order by attribute"
    ).fetchall()
    if not fields or not table_exists(con, "raw", "lead_attributes"):
        return None
    counts = []
    for attribute, rules in fields:
        values, example = con.execute(
            f"select count(*), min(attributes.value) from {CURRENT_FIELDS} "
            "where attributes.attribute = ? and try_cast(attributes.value as double) is null",
            [custom_field(attribute)],
        ).fetchone()
        if values:
            why = f"{values} lead(s) have a {attribute} that is not a number (such as {example!r})"
            counts.append((values, f"{why}, which the between rule(s) {rules} never match"))
    if not counts:
        return None
    return sum(n for n, _ in counts), "; ".join(why for _, why in counts)
