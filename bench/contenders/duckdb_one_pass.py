"""The physical reference: one plain-DuckDB query that scores every lead straight from the landing files.

One pass over the activity files, per lead and engagement rule (url patterns, half-life decay to
as_of, the rule's own cap), then the group caps and the total cap; the leads created by as_of joined
to their accounts, seniority and department read from the title keywords, the fit rules; one
clamped score per lead, written as `lead_scores.parquet` (lead_id, score). The rules are the
`config.*` tables leadops' own loader writes from scoring.yml, as for duckdb_floor; the points are
rounded where the models round them, so where the reference computes the same thing it gives the
same cents. Timed: the one query, reading the files included. Not timed: process start, imports,
reading scoring.yml and writing the config tables.

It does less than the complete model on purpose: no negative signals or disqualifiers, no resets
after unsubscribes (escapes), no hot triggers, no newsletters, no factor rows, no account rollup or
lift, no segments; fit rules on custom fields are not read, and each lead and account is taken to
be in the files once (the demo data is). It is what the hardware allows for the core of the
scoring, the bound the other contenders are divided by (issue 23), not a second implementation to
compare tables with: the harness reports how far its scores are from leadops_full's.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bench.contenders._common import NUMERIC_ATTRIBUTES, TEXT_ATTRIBUTES, csv_files, parser, quoted, report


def _words(expression: str) -> str:
    """As the models' `words` macro: lower-case words with a space at each end (whole-word matches)."""
    return f"(' ' || trim(regexp_replace(lower(coalesce({expression}, '')), '[^a-z0-9]+', ' ', 'g')) || ' ')"


def _points(expression: str) -> str:
    """As the models' `points` macro: six places first, then cents, so sums are exact."""
    return f"cast(round(cast({expression} as decimal(18, 6)), 2) as decimal(12, 2))"


def query(landing: Path, as_of: date) -> str:
    """The whole scoring as one statement; `config.*` must exist on the connection."""
    day = f"date '{as_of.isoformat()}'"
    day_after = f"timestamp '{(as_of + timedelta(days=1)).isoformat()}'"
    activity = quoted(str(landing / "activity" / "*.parquet"))
    text_values = "\n            union all\n".join(
        f"            select lead_id, '{attribute}' as attribute, lower({column}) as value "
        f"from enriched where {column} is not null"
        for attribute, column in TEXT_ATTRIBUTES.items()
    )
    numeric_values = "\n            union all\n".join(
        f"            select lead_id, '{column}' as attribute, cast({column} as double) as value "
        f"from enriched where {column} is not null"
        for column in NUMERIC_ATTRIBUTES
    )
    decay = (
        "case when rules.half_life_days is null then 1.0 else power(0.5, "
        f"cast(date_diff('day', cast(events.occurred_at as date), {day}) as double) / rules.half_life_days) end"
    )
    # Each rule's points in cents before its group's sum, as int_engagement_rules_applied rounds them:
    # rounding only the lead's total instead moved 17% of the small scale's leads by 1-3 cents.
    rule_capped = _points(
        "case when per_rule.decayed_points > rules.max_points then rules.max_points else per_rule.decayed_points end"
    )
    return f"""
    with
    rules as (
        -- A small integer key: the per-lead aggregate hashes it beside the lead id for every event.
        select
            row_number() over (order by rules.rule_name) as rule_id,
            rules.*,
            coalesce(rules.rule_group, rules.rule_name) as cap_group,
            caps.max_points as group_max_points
        from config.engagement_rules as rules
        left join config.engagement_group_caps as caps
            on rules.rule_group = caps.group_name
    ),
    per_rule as (
        select
            events.lead_id,
            rules.rule_id,
            sum(rules.points * {decay}) as decayed_points
        from read_parquet({activity}) as events
        inner join rules
            on
                events.event_type = rules.event_type
                and (rules.url_contains is null or position(rules.url_contains in lower(coalesce(events.url, ''))) > 0)
                and (
                    rules.window_days is null
                    or events.occurred_at >= cast({day} - to_days(cast(rules.window_days as integer)) as timestamp)
                )
        where events.occurred_at < {day_after}
        group by events.lead_id, rules.rule_id
    ),
    per_group as (
        select
            per_rule.lead_id,
            rules.cap_group,
            max(rules.group_max_points) as max_points,
            sum({rule_capped}) as points
        from per_rule
        inner join rules
            on per_rule.rule_id = rules.rule_id
        group by per_rule.lead_id, rules.cap_group
    ),
    engagement as (
        select
            lead_id,
            sum(case when points > max_points then {_points("max_points")} else points end) as points
        from per_group
        group by lead_id
    ),
    leads as (
        select
            lead_id,
            lower(trim(email)) as email,
            split_part(lower(trim(email)), '@', 2) as email_domain,
            job_title,
            lower(company_domain) as company_domain,
            upper(country) as country_code,
            lower(lead_source) as lead_source
        from {csv_files(landing / "leads")}
        where cast(cast(created_at as timestamptz) at time zone 'UTC' as date) <= {day}
    ),
    accounts as (
        select
            lower(company_domain) as company_domain,
            lower(trim(industry)) as industry,
            cast(employees as bigint) as employees,
            cast(annual_revenue as double) as annual_revenue,
            upper(country) as country_code
        from {csv_files(landing / "accounts")}
    ),
    keywords as (
        select dimension, value, keyword, priority, {_words("keyword")} as keyword_words
        from config.title_keywords
        where dimension in ('seniority', 'department')
    ),
    title_roles as (
        -- Once per distinct title: the first group (priority, then keyword) whose words it contains.
        select
            job_title,
            max(case when dimension = 'seniority' then value end) as seniority,
            max(case when dimension = 'department' then value end) as department
        from (
            select
                titles.job_title,
                keywords.dimension,
                keywords.value,
                row_number() over (
                    partition by titles.job_title, keywords.dimension order by keywords.priority, keywords.keyword
                ) as match_rank
            from (select distinct job_title, {_words("job_title")} as title_words from leads) as titles
            inner join keywords
                on position(keywords.keyword_words in titles.title_words) > 0
        )
        where match_rank = 1
        group by job_title
    ),
    enriched as (
        select
            leads.lead_id,
            leads.email_domain,
            leads.job_title,
            leads.lead_source,
            accounts.industry,
            accounts.employees,
            accounts.annual_revenue,
            coalesce(leads.country_code, accounts.country_code) as country_code,
            coalesce(title_roles.seniority, 'unknown') as seniority,
            coalesce(title_roles.department, 'unknown') as department
        from leads
        left join config.domain_lists as personal
            on personal.list_name = 'personal_email' and leads.email_domain = personal.domain
        left join accounts
            on coalesce(leads.company_domain, case when personal.domain is null then leads.email_domain end)
            = accounts.company_domain
        left join title_roles
            on leads.job_title = title_roles.job_title
    ),
    text_values as (
{text_values}
    ),
    numeric_values as (
{numeric_values}
    ),
    fit_matches as (
        select text_values.lead_id, rules.rule_name, rules.points
        from text_values
        inner join config.fit_rules as rules
            on
                text_values.attribute = rules.attribute
                and rules.match_type = 'equals'
                and text_values.value = rules.match_value
        union all
        select text_values.lead_id, rules.rule_name, rules.points
        from text_values
        inner join config.fit_rules as rules
            on
                text_values.attribute = rules.attribute
                and rules.match_type = 'contains'
                and position({_words("rules.match_value")} in {_words("text_values.value")}) > 0
        union all
        select numeric_values.lead_id, rules.rule_name, rules.points
        from numeric_values
        inner join config.fit_rules as rules
            on
                numeric_values.attribute = rules.attribute
                and rules.match_type = 'between'
                and numeric_values.value between rules.range_low and rules.range_high
    ),
    fit as (
        -- A rule counts once per lead, however many of its values match.
        select lead_id, sum(points) as points
        from (
            select lead_id, rule_name, {_points("max(points)")} as points
            from fit_matches
            group by lead_id, rule_name
        )
        group by lead_id
    ),
    total_cap as (
        select value as points from config.parameters where name = 'engagement_total_cap'
    ),
    totals as (
        select
            enriched.lead_id,
            coalesce(fit.points, 0)
            + case
                when engagement.points > total_cap.points then {_points("total_cap.points")}
                else coalesce(engagement.points, 0)
            end as points
        from enriched
        cross join total_cap
        left join fit
            on enriched.lead_id = fit.lead_id
        left join engagement
            on enriched.lead_id = engagement.lead_id
    )
    select
        lead_id,
        {_points("case when points < 0 then 0 when points > 100 then 100 else points end")} as score
    from totals
    """


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    from leadops.config import load_config, write_config_tables

    config = load_config(args.config)
    custom = sorted(rule.name for rule in config.fit if rule.attribute.startswith("custom."))
    if custom:
        print(f"note: the reference reads no custom fields; fit rules left out: {', '.join(custom)}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    # The same settings as leadops' dbt profile and the floor, so the engine is configured alike.
    con.execute("set memory_limit = '3GB'; set preserve_insertion_order = false; set TimeZone = 'UTC'")
    con.execute(f"set temp_directory = {quoted(str(args.out.parent / 'one_pass_spill'))}")
    write_config_tables(con, config)
    target = quoted(str(args.out / "lead_scores.parquet"))
    sql = f"copy ({query(args.landing, args.as_of)}) to {target} (format parquet)"
    started = time.perf_counter()
    con.execute(sql)
    core = time.perf_counter() - started
    (rows,) = con.execute(f"select count(*) from read_parquet({target})").fetchone()
    report(core_s=round(core, 3), rows={"lead_scores": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
