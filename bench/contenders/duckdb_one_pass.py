"""The physical reference: one plain-DuckDB query that scores every lead straight from the landing files.

One pass over the activity files, per lead and engagement rule (url patterns, half-life decay to
as_of, per-rule, group and total caps), the leads joined to their accounts, seniority and department
from the title keywords, the fit rules, and one clamped score per lead. It does less than the complete
model on purpose: no negative signals, no resets after unsubscribes, no hot triggers, no newsletters,
no factor rows, no account rollup and no segments. It is what the hardware allows for the core of the
scoring, the bound the other contenders are divided by (issue 23), not a second implementation to
compare tables with. Timed: the one query writing lead_scores to Parquet. Not timed: process start,
imports, reading scoring.yml and writing the config tables.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from bench.contenders._common import parser, report

# The score's range, as lead_scores clamps it (the score_floor and score_ceiling factors).
SCORE_FLOOR, SCORE_CEILING = 0, 100


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _words(expression: str) -> str:
    """Text as ' word word ', so a keyword matches whole words only, as leadops' contains_words does."""
    return f"(' ' || trim(regexp_replace(lower(coalesce({expression}, '')), '[^a-z0-9]+', ' ', 'g')) || ' ')"


def scoring_query(landing: Path, as_of: date, target: Path) -> str:
    activity = _quoted(str(landing / "activity" / "*.parquet"))
    leads_csv = f"read_csv({_quoted(str(landing / 'leads' / '*.csv'))}, header = true, all_varchar = true)"
    accounts_csv = f"read_csv({_quoted(str(landing / 'accounts' / '*.csv'))}, header = true, all_varchar = true)"
    day = f"date '{as_of.isoformat()}'"
    return f"""copy (
with
leads as (
    select
        lead_id,
        split_part(lower(trim(email)), '@', 2) as email_domain,
        nullif(lower(trim(company_domain)), '') as company_domain,
        job_title,
        nullif(upper(trim(country)), '') as country_code,
        lead_source
    from {leads_csv}
),
accounts as (
    select
        lower(company_domain) as company_domain,
        industry,
        try_cast(employees as double) as employees,
        try_cast(annual_revenue as double) as annual_revenue,
        nullif(upper(trim(country)), '') as country_code
    from {accounts_csv}
),
personal_domains as (
    select domain from config.domain_lists where list_name = 'personal_email'
),
-- Titles repeat a lot: match the keywords once per distinct title, not once per lead.
titles as (
    select job_title, {_words("job_title")} as title_words from (select distinct job_title from leads)
),
title_roles as (
    select
        titles.job_title,
        first(keywords.value order by keywords.priority, keywords.keyword)
            filter (where keywords.dimension = 'seniority') as seniority,
        first(keywords.value order by keywords.priority, keywords.keyword)
            filter (where keywords.dimension = 'department') as department
    from titles
    inner join config.title_keywords as keywords
        on position({_words("keywords.keyword")} in titles.title_words) > 0
    group by titles.job_title
),
enriched as (
    select
        leads.lead_id,
        lower(accounts.industry) as industry,
        lower(coalesce(leads.country_code, accounts.country_code)) as country,
        coalesce(title_roles.seniority, 'unknown') as seniority,
        coalesce(title_roles.department, 'unknown') as department,
        lower(leads.job_title) as job_title,
        lower(leads.lead_source) as lead_source,
        leads.email_domain,
        accounts.employees,
        accounts.annual_revenue
    from leads
    left join personal_domains on leads.email_domain = personal_domains.domain
    left join accounts
        on accounts.company_domain = coalesce(
            leads.company_domain, case when personal_domains.domain is null then leads.email_domain end
        )
    left join title_roles on leads.job_title = title_roles.job_title
),
attributes as (
    unpivot (select lead_id, industry, country, seniority, department, job_title, lead_source, email_domain
             from enriched)
    on industry, country, seniority, department, job_title, lead_source, email_domain
    into name attribute value text_value
),
numbers as (
    unpivot (select lead_id, employees, annual_revenue from enriched)
    on employees, annual_revenue into name attribute value numeric_value
),
fit_matches as (
    select attributes.lead_id, rules.rule_name, rules.points
    from attributes
    inner join config.fit_rules as rules
        on attributes.attribute = rules.attribute
        and (
            (rules.match_type = 'equals' and attributes.text_value = rules.match_value)
            or (rules.match_type = 'contains'
                and position({_words("rules.match_value")} in {_words("attributes.text_value")}) > 0)
        )
    union all
    select numbers.lead_id, rules.rule_name, rules.points
    from numbers
    inner join config.fit_rules as rules
        on numbers.attribute = rules.attribute
        and rules.match_type = 'between'
        and numbers.numeric_value between rules.range_low and rules.range_high
),
fit as (
    -- A rule counts once per lead, however many of its values match.
    select lead_id, sum(points) as fit_points
    from (select lead_id, rule_name, max(points) as points from fit_matches group by lead_id, rule_name)
    group by lead_id
),
per_rule as (
    -- The one scan of the events: each event earns every rule it matches, halved every half-life.
    select
        events.lead_id,
        rules.rule_name,
        any_value(rules.rule_group) as rule_group,
        least(
            sum(rules.points * case
                when rules.half_life_days is null then 1.0
                else power(0.5, ({day} - cast(events.occurred_at as date)) / rules.half_life_days)
            end),
            coalesce(any_value(rules.max_points), 'infinity'::double)
        ) as points
    from read_parquet({activity}) as events
    inner join config.engagement_rules as rules
        on events.event_type = rules.event_type
        and (rules.url_contains is null or position(rules.url_contains in coalesce(events.url, '')) > 0)
    where cast(events.occurred_at as date) <= {day}
        and (rules.window_days is null or cast(events.occurred_at as date) > {day} - rules.window_days)
    group by events.lead_id, rules.rule_name
),
per_group as (
    select per_rule.lead_id, least(sum(per_rule.points), coalesce(any_value(caps.max_points), 'infinity'::double))
        as points
    from per_rule
    left join config.engagement_group_caps as caps on per_rule.rule_group = caps.group_name
    group by per_rule.lead_id, per_rule.rule_group
),
engagement as (
    select lead_id, least(
        sum(points),
        coalesce((select value from config.parameters where name = 'engagement_total_cap'), 'infinity'::double)
    ) as engagement_points
    from per_group
    group by lead_id
)
select
    enriched.lead_id,
    cast(round(greatest({SCORE_FLOOR}, least({SCORE_CEILING},
        coalesce(fit.fit_points, 0) + coalesce(engagement.engagement_points, 0))), 2) as decimal(12, 2)) as score
from enriched
left join fit on enriched.lead_id = fit.lead_id
left join engagement on enriched.lead_id = engagement.lead_id
) to {_quoted(str(target))} (format parquet)"""


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    from leadops.config import load_config, write_config_tables

    args.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    # The same settings as the floor and leadops' dbt profile: the reference differs in its SQL only.
    con.execute("set memory_limit = '3GB'; set preserve_insertion_order = false; set TimeZone = 'UTC'")
    con.execute(f"set temp_directory = {_quoted(str(args.out.parent / 'one_pass_spill'))}")
    write_config_tables(con, load_config(args.config))
    target = args.out / "lead_scores.parquet"
    query = scoring_query(args.landing, args.as_of, target)
    started = time.perf_counter()
    con.execute(query)
    core = time.perf_counter() - started
    rows = con.execute(f"select count(*) from read_parquet({_quoted(str(target))})").fetchone()[0]
    report(core_s=round(core, 3), rows={"lead_scores": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
