"""The features, point in time: each lead as it was on its scoring date, built set-based in DuckDB.

A training lead is seen as it was `scoring_day` days after creation, or on the day of its first pipeline
stage if sooner: fit attributes, CRM custom fields and the engagement counted strictly before that
date, never what came after. Only the finished matrix reaches pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from leadops.config import Predictive
from leadops.contract import EVENT_TYPES
from leadops.predictive.relations import DEFAULT_RELATIONS, Relations
from leadops.sql import quote_identifier, quote_literal, table_exists

CUSTOM_PREFIX = "cf__"
NUMERIC_SHARE = 0.95  # a custom field is numeric when this share of its values are numbers

# Built-in features: (name, kind, words a salesperson reads). Counts are over `lookback_days`.
FIT_FEATURES = [
    ("industry", "categorical", "industry"),
    ("country_code", "categorical", "country"),
    ("seniority", "categorical", "seniority"),
    ("department", "categorical", "department"),
    ("lead_source", "categorical", "lead source"),
    ("log_employees", "numeric", "company size"),
    ("log_annual_revenue", "numeric", "company revenue"),
    ("is_personal_email", "numeric", "personal email address"),
    ("is_competitor", "numeric", "competitor domain"),
    ("is_junk", "numeric", "junk-looking record"),
]
EVENT_WORDS = {
    "email_delivered": "emails delivered",
    "email_open": "email opens",
    "email_click": "email clicks",
    "page_view": "page views",
    "content_download": "content downloads",
    "webinar_registration": "webinar registrations",
    "webinar_attendance": "webinars attended",
    "form_submission": "form submissions",
    "demo_request": "demo requests",
    "trial_signup": "trial signups",
    "newsletter_subscribe": "newsletter subscriptions",
    "unsubscribe": "unsubscribes",
    "social_engagement": "social engagements",
}


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical
    label: str
    source: str  # built-in | custom field
    # A custom field the CRM keeps a history of: read as it was at each lead's scoring date, so a
    # value sales filled in after contact cannot leak into training. Others are read as they are now.
    from_history: bool = False

    @property
    def short_name(self) -> str:
        """The name a user gave it: a custom field without the prefix that keeps it apart from built-ins."""
        return self.name.removeprefix(CUSTOM_PREFIX)


def data_as_of(con: duckdb.DuckDBPyConnection, relations: Relations = DEFAULT_RELATIONS) -> date:
    """The date the marts were last built as of: training and scoring use the same data as the scores."""
    (as_of,) = con.execute(f"select max(as_of_date) from {relations.lead_scores}").fetchone()
    if as_of is None:
        raise ValueError(
            f"{relations.lead_scores.schema}.{relations.lead_scores.name} is empty: "
            "run a refresh before training or scoring"
        )
    return as_of


def current_attributes_sql(relations: Relations = DEFAULT_RELATIONS) -> str:
    """The custom fields of each lead's current row (its latest loaded row), as (lead_id, attribute, value)."""
    return f"""
    with current_rows as (
        select lead_id, _batch_id, _line_number from {relations.raw_leads}
        qualify row_number() over (partition by lead_id order by _batch_id desc, _line_number desc) = 1
    )
    select attributes.lead_id, attributes.attribute, attributes.value
    from {relations.lead_attributes} as attributes
    inner join current_rows using (lead_id, _batch_id, _line_number)
"""


CURRENT_ATTRIBUTES_SQL = current_attributes_sql()


def custom_fields(
    con: duckdb.DuckDBPyConnection, settings: Predictive, relations: Relations = DEFAULT_RELATIONS
) -> dict[str, str]:
    """Every custom field of the leads' current rows, typed: numeric when nearly all values are numbers."""
    if not table_exists(con, relations.lead_attributes.schema, relations.lead_attributes.name):
        return {}
    rows = con.execute(
        f"select attribute, count(*), count(try_cast(value as double)) from ({current_attributes_sql(relations)}) "
        "group by attribute order by attribute"
    ).fetchall()
    return {
        attribute: settings.field_types.get(attribute) or ("numeric" if numbers >= NUMERIC_SHARE * n else "categorical")
        for attribute, n, numbers in rows
    }


def fields_with_history(con: duckdb.DuckDBPyConnection, relations: Relations = DEFAULT_RELATIONS) -> set[str]:
    """The custom fields with at least one recorded change (their names normalised as the leads files')."""
    history = relations.attribute_history
    if not table_exists(con, history.schema, history.name):
        return set()
    return {name for (name,) in con.execute(f"select distinct {_normalised('attribute')} from {history}").fetchall()}


def _normalised(column: str) -> str:
    # As leadops.headers.normalised_name: a history names a field as its CRM does (`Lead Status`).
    return f"trim(regexp_replace(lower(trim({column})), '[^a-z0-9]+', '_', 'g'), '_')"


def candidate_features(
    custom: dict[str, str], settings: Predictive, hot_urls: list[str], with_history: set[str] = frozenset()
) -> list[Feature]:
    lookback = settings.lookback_days
    features = [Feature(name, kind, label, "built-in") for name, kind, label in FIT_FEATURES]
    features += [
        Feature(f"n_{event}", "numeric", f"{words} in the last {lookback} days", "built-in")
        for event, words in EVENT_WORDS.items()
    ]
    features += [
        Feature(f"n_views_{slug(url)}", "numeric", f"visits to {url} in the last {lookback} days", "built-in")
        for url in hot_urls
    ]
    features += [
        Feature("n_events_7d", "numeric", "activities in the last 7 days", "built-in"),
        Feature("n_active_days", "numeric", f"active days in the last {lookback} days", "built-in"),
        Feature("days_since_last_activity", "numeric", "days since the last activity", "built-in"),
        Feature("ever_unsubscribed", "numeric", "unsubscribed before", "built-in"),
    ]
    features += [
        Feature(CUSTOM_PREFIX + name, kind, name, "custom field", name in with_history) for name, kind in custom.items()
    ]
    return features


def is_activity(feature: Feature) -> bool:
    return feature.source == "built-in" and (
        feature.name.startswith("n_") or feature.name in ("days_since_last_activity", "ever_unsubscribed")
    )


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_") or "root"


def feature_matrix(
    con: duckdb.DuckDBPyConnection,
    features: list[Feature],
    settings: Predictive,
    hot_urls: list[str],
    relations: Relations = DEFAULT_RELATIONS,
) -> pd.DataFrame:
    """One row per lead of the temp table `_pit` (lead_id, cutoff): what was known before its cutoff."""
    custom = [f for f in features if f.source == "custom field"]
    frame = con.execute(_matrix_sql(custom, int(settings.lookback_days), hot_urls, relations)).df()
    for f in features:
        if f.kind == "numeric":
            frame[f.name] = pd.to_numeric(frame[f.name], errors="coerce").astype("float64")
        else:
            frame[f.name] = frame[f.name].astype("object").where(frame[f.name].notna(), None)
    return frame.set_index("lead_id")


def _event_counts(hot_urls: list[str]) -> list[tuple[str, str]]:
    """(column, the aggregate counting it among a lead's events), per event type and per hot URL."""
    counts = [(f"n_{event}", f"count(*) filter (where event_type = {quote_literal(event)})") for event in EVENT_TYPES]
    counts += [
        (
            f"n_views_{slug(url)}",
            f"count(*) filter (where event_type = 'page_view' and contains(url, {quote_literal(url.lower())}))",
        )
        for url in hot_urls
    ]
    return counts


def _custom_cte(custom: list[Feature], relations: Relations) -> str:
    """One column per custom field, pivoted from each lead's values: a field with a history as it was
    just before the lead's cutoff (NULL when it had no value yet), the others from the current row."""
    if not custom:
        return "custom as (select null::varchar as lead_id where false)"
    columns = []
    for f in custom:
        attribute = quote_literal(f.name[len(CUSTOM_PREFIX) :])
        value = "try_cast(value as double)" if f.kind == "numeric" else "value"
        columns.append(f"max({value}) filter (where attribute = {attribute}) as {quote_identifier(f.name)}")
    historic = [quote_literal(f.name[len(CUSTOM_PREFIX) :]) for f in custom if f.from_history]
    if not historic:
        values = current_attributes_sql(relations)
    else:
        values = f"""
            with current_values as ({current_attributes_sql(relations)}),
            as_of_cutoff as (
                select pit.lead_id, {_normalised("history.attribute")} as attribute,
                    arg_max(nullif(trim(history.value), ''), history.changed_at)
                        filter (where history.changed_at < pit.cutoff) as value
                from pit inner join {relations.attribute_history} as history on history.lead_id = pit.lead_id
                where {_normalised("history.attribute")} in ({", ".join(historic)})
                group by all
            )
            select lead_id, attribute, value from current_values
            where attribute not in ({", ".join(historic)})
            union all
            select lead_id, attribute, value from as_of_cutoff
            union all  -- a lead whose history of the field is empty: its current value
            select current_values.lead_id, current_values.attribute, current_values.value
            from current_values anti join as_of_cutoff using (lead_id, attribute)
            where current_values.attribute in ({", ".join(historic)})
        """
    return f"custom as (select lead_id, {', '.join(columns)} from ({values}) group by lead_id)"


def _matrix_sql(custom: list[Feature], lookback: int, hot_urls: list[str], relations: Relations) -> str:
    counts = _event_counts(hot_urls)
    return f"""
        with
        pit as (select lead_id, cutoff from _pit),
        {_activity_ctes(counts, lookback, relations)},
        signals as (
            select lead_id,
                bool_or(signal = 'competitor') as is_competitor,
                bool_or(signal = 'junk') as is_junk
            from {relations.signals}
            where signal in ('competitor', 'junk')
            group by lead_id
        ),
        {_custom_cte(custom, relations)}
        select
            pit.lead_id,
            leads.industry, leads.country_code, leads.seniority, leads.department, leads.lead_source,
            ln(1 + leads.employees) as log_employees,
            ln(1 + leads.annual_revenue) as log_annual_revenue,
            cast(leads.is_personal_email as integer) as is_personal_email,
            cast(coalesce(signals.is_competitor, false) as integer) as is_competitor,
            cast(coalesce(signals.is_junk, false) as integer) as is_junk,
            {", ".join(f"coalesce(recent.{name}, 0) as {name}" for name, _ in counts)},
            coalesce(recent.n_events_7d, 0) as n_events_7d,
            coalesce(recent.n_active_days, 0) as n_active_days,
            lifetime.days_since_last_activity,
            cast(coalesce(lifetime.ever_unsubscribed, false) as integer) as ever_unsubscribed
            {"".join(f", custom.{quote_identifier(f.name)}" for f in custom)}
        from pit
        inner join {relations.leads} as leads on leads.lead_id = pit.lead_id
        left join recent on recent.lead_id = pit.lead_id
        left join lifetime on lifetime.lead_id = pit.lead_id
        left join signals on signals.lead_id = pit.lead_id
        left join custom on custom.lead_id = pit.lead_id
        order by pit.lead_id
    """


def _activity_ctes(counts: list[tuple[str, str]], lookback: int, relations: Relations) -> str:
    """Each lead's events strictly before its cutoff (`history`), counted over the lookback (`recent`)
    and over its whole life (`lifetime`)."""
    return f"""history as (
            select pit.lead_id, pit.cutoff, activity.event_type, activity.url, activity.occurred_at
            from pit
            inner join {relations.activity} as activity on activity.lead_id = pit.lead_id
            where activity.occurred_at < pit.cutoff
        ),
        recent as (
            select lead_id, {", ".join(f"{sql} as {name}" for name, sql in counts)},
                count(*) filter (where occurred_at >= cutoff - interval 7 day) as n_events_7d,
                count(distinct cast(occurred_at as date)) as n_active_days
            from history
            where occurred_at >= cutoff - interval {lookback} day
            group by lead_id
        ),
        lifetime as (
            select lead_id, date_diff('day', max(occurred_at), max(cutoff)) as days_since_last_activity,
                bool_or(event_type = 'unsubscribe') as ever_unsubscribed
            from history
            group by lead_id
        )"""


def training_rows(
    con: duckdb.DuckDBPyConnection, settings: Predictive, as_of: date, relations: Relations = DEFAULT_RELATIONS
) -> pd.DataFrame:
    """Leads whose outcome is known by `as_of`, with their scoring date (cutoff) and label, as `_pit`."""
    con.execute(
        f"""
        create or replace temp table _pit as
        with
        leads as (select lead_id, created_at from {relations.leads}),
        stages as (
            select lead_id, min(occurred_at) as first_stage_at,
                bool_or(stage = ?) as reached_outcome
            from {relations.conversions}
            where cast(occurred_at as date) <= ?
            group by lead_id
        )
        select
            leads.lead_id,
            leads.created_at,
            -- Before its first pipeline stage a lead's record is untouched by sales.
            least(
                cast(cast(leads.created_at as date) + {int(settings.scoring_day)} as timestamp),
                coalesce(cast(cast(stages.first_stage_at as date) as timestamp), 'infinity'::timestamp)
            ) as cutoff,
            coalesce(stages.reached_outcome, false) as label
        from leads
        left join stages on stages.lead_id = leads.lead_id
        -- Old enough, judged on the creation date only: choosing rows by their outcome would bias them.
        where cast(leads.created_at as date) + {int(settings.scoring_day) + int(settings.outcome_window_days)} <= ?
        """,
        [settings.outcome_stage, as_of, as_of],
    )
    return con.execute("select lead_id, created_at, cutoff, label from _pit order by lead_id").df().set_index("lead_id")
