"""The input contract: which files a landing folder holds and what their columns mean.

This module is the single description of the contract. Ingest enforces it, docs/input-contract.md
documents it, and the demo-data generator writes files that honour it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

EVENT_TYPES: tuple[str, ...] = (
    "email_delivered",
    "email_open",
    "email_click",
    "page_view",
    "content_download",
    "webinar_registration",
    "webinar_attendance",
    "form_submission",
    "demo_request",
    "trial_signup",
    "newsletter_subscribe",
    "unsubscribe",
    "social_engagement",
)

CONVERSION_STAGES: tuple[str, ...] = ("opportunity", "closed_won", "closed_lost")

FILE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # a DuckDB type that the raw table stores
    required: bool = False
    description: str = ""
    allowed: tuple[str, ...] = ()  # a closed vocabulary, compared case-insensitively
    max_length: int = 1000  # longer text is quarantined, not truncated


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    key: tuple[str, ...]  # a row per key per file; a repeated key keeps the file's last row
    columns: tuple[Column, ...]
    # Facts (events) happen once: a key already loaded from an earlier file is quarantined, so the
    # raw table holds each key once and no model has to de-duplicate the whole history again.
    # Other sources are snapshots: a later file's row replaces the earlier one in staging.
    is_append_only: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


LEADS = Source(
    name="leads",
    description="People from the CRM export, one row per lead (a later file's row replaces an earlier one).",
    key=("lead_id",),
    columns=(
        Column("lead_id", "VARCHAR", True, "Stable CRM identifier of the lead."),
        Column("email", "VARCHAR", True, "Work or personal address; trimmed and lower-cased on load."),
        Column("created_at", "TIMESTAMP", True, "When the lead entered the CRM (ISO 8601)."),
        Column("first_name", "VARCHAR"),
        Column("last_name", "VARCHAR"),
        Column("job_title", "VARCHAR", description="Free text; seniority and department are derived from it."),
        Column("company_name", "VARCHAR"),
        Column("company_domain", "VARCHAR", description="Joins the lead to `accounts`."),
        Column("country", "VARCHAR", description="ISO 3166 alpha-2 code."),
        Column("lead_source", "VARCHAR", description="e.g. webinar, paid_search, organic, referral."),
        Column("is_unsubscribed", "BOOLEAN", description="true/false."),
        Column("is_email_bounced", "BOOLEAN", description="true/false."),
    ),
)

ACCOUNTS = Source(
    name="accounts",
    description="Companies, one row per company domain.",
    key=("company_domain",),
    columns=(
        Column("company_domain", "VARCHAR", True, "e.g. acme.com; lower-cased on load."),
        Column("company_name", "VARCHAR"),
        Column("industry", "VARCHAR"),
        Column("employees", "BIGINT", description="Head count, a whole number >= 0."),
        Column("annual_revenue", "DOUBLE", description="In the reporting currency, >= 0."),
        Column("country", "VARCHAR", description="ISO 3166 alpha-2 code."),
        Column("is_customer", "BOOLEAN", description="true/false."),
    ),
)

ACTIVITY = Source(
    name="activity",
    description="Marketing and product events, one row per event.",
    key=("event_id",),
    is_append_only=True,
    columns=(
        Column(
            "event_id",
            "VARCHAR",
            True,
            "Unique per event; an event_id loaded before is quarantined.",
        ),
        Column("lead_id", "VARCHAR", True),
        Column("event_type", "VARCHAR", True, "One of the event types listed below.", EVENT_TYPES),
        Column("occurred_at", "TIMESTAMP", True, "ISO 8601, UTC."),
        Column("url", "VARCHAR", description="Page path or URL for page views and downloads.", max_length=2048),
        Column("content_id", "VARCHAR"),
        Column("campaign_id", "VARCHAR", description="Email or newsletter campaign."),
    ),
)

CONVERSIONS = Source(
    name="conversions",
    description="Pipeline outcomes, one row per lead and stage reached.",
    key=("lead_id", "stage"),
    columns=(
        Column("lead_id", "VARCHAR", True),
        Column("stage", "VARCHAR", True, "opportunity, closed_won or closed_lost.", CONVERSION_STAGES),
        Column("occurred_at", "TIMESTAMP", True, "ISO 8601, UTC."),
        Column("amount", "DOUBLE", description="Deal amount."),
    ),
)

ATTRIBUTE_HISTORY = Source(
    name="attribute_history",
    description=(
        "How leads' CRM fields changed (HubSpot's contact_property_history, Salesforce's field history): "
        "one row per lead, field and change, so the model reads a field as it was when the lead was scored."
    ),
    key=("lead_id", "attribute", "changed_at"),
    columns=(
        Column("lead_id", "VARCHAR", True),
        Column("attribute", "VARCHAR", True, "The custom field's name, as the leads files' column normalises."),
        Column("value", "VARCHAR", description="Its value from then on; empty when it was cleared."),
        Column("changed_at", "TIMESTAMP", True, "When it took that value, UTC."),
    ),
    is_append_only=True,
)

SOURCES: dict[str, Source] = {s.name: s for s in (LEADS, ACCOUNTS, ACTIVITY, CONVERSIONS, ATTRIBUTE_HISTORY)}


def with_event_types(source: Source, declared: tuple[str, ...]) -> Source:
    """`source` with the event types a source mapping declares (calls, meetings, `feature_used`)
    added to the contract's closed list: an event of any other type is still quarantined."""
    if source.name != ACTIVITY.name or not declared:
        return source
    columns = tuple(
        replace(c, allowed=tuple(dict.fromkeys((*c.allowed, *declared)))) if c.name == "event_type" else c
        for c in source.columns
    )
    return replace(source, columns=columns)
