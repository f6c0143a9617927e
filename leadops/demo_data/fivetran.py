"""The demo CRM in the shape Fivetran's HubSpot connector writes: one folder per table.

Fivetran's own samples are tens of rows with hashed values; this writes the same tables at any
volume, from the demo data in the contract's shape, so the `fivetran-hubspot` preset can be run and
measured on them (`leadops demo-data --shape fivetran-hubspot`). Set-based, in DuckDB.

Web and content events (page views, downloads, webinars) have no table in HubSpot's schema as
Fivetran syncs it: they are not written, and the summary counts them.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb

from leadops.contract import SOURCES
from leadops.sql import quote_identifier, quote_literal

SHAPE = "fivetran-hubspot"
EMAIL_TYPES = {"email_delivered": "DELIVERED", "email_open": "OPEN", "email_click": "CLICK"}


def _tables(extras: list[str]) -> dict[str, str]:
    """Each table's rows as SQL over the contract-shaped views leads, accounts, activity, conversions."""
    custom = "".join(f", {quote_identifier(name)} as {quote_identifier('property_' + name)}" for name in extras)
    email = " ".join(f"when {quote_literal(k)} then {quote_literal(v)}" for k, v in EMAIL_TYPES.items())
    return {
        "contact": f"""select lead_id as id, email as property_email, created_at as property_createdate,
            first_name as property_firstname, last_name as property_lastname, job_title as property_jobtitle,
            company_name as property_company, country as property_country,
            lead_source as property_hs_analytics_source, is_unsubscribed as property_hs_email_optout{custom},
            coalesce(stages.stage, 'lead') as property_lifecyclestage,
            null::varchar as property_hs_merged_object_ids,
            false as _fivetran_deleted, created_at as _fivetran_synced
            from leads left join (
                select lead_id, case when bool_or(stage = 'closed_won') then 'customer'
                    when bool_or(stage = 'opportunity') then 'opportunity' end as stage
                from conversions group by lead_id
            ) as stages using (lead_id)""",
        "company": """select row_number() over (order by company_domain) as id, company_domain as property_domain,
            company_name as property_name, industry as property_industry,
            employees as property_numberofemployees, annual_revenue as property_annualrevenue,
            country as property_country, false as is_deleted, now()::timestamp as _fivetran_synced from accounts""",
        "email_event": f"""select event_id as id, case event_type {email} else 'STATUSCHANGE' end as type,
            leads.email as recipient, occurred_at as created, campaign_id as email_campaign_id,
            false as filtered_event, occurred_at as _fivetran_synced
            from activity inner join leads using (lead_id)
            where event_type in ({", ".join(quote_literal(k) for k in EMAIL_TYPES)}, 'unsubscribe')""",
        "email_event_click": """select event_id as id, url, occurred_at as _fivetran_synced
            from activity where event_type = 'email_click'""",
        "email_event_status_change": """select event_id as id, 'UNSUBSCRIBED' as portal_subscription_status,
            'SOURCE_RECIPIENT' as source, occurred_at as _fivetran_synced from activity
            where event_type = 'unsubscribe'""",
        "contact_form_submission": """select event_id as conversion_id, lead_id as contact_id, occurred_at as timestamp,
            url as page_url, content_id as form_id, occurred_at as _fivetran_synced
            from activity where event_type = 'form_submission'""",
        "contact_merge_audit": """select null::varchar as canonical_vid, null::varchar as contact_id,
            null::varchar as vid_to_merge, null::timestamp as _fivetran_synced where false""",
        "deal": """select 'D' || lead_id as deal_id, false as is_deleted, occurred_at as property_createdate,
            amount as property_amount, occurred_at as _fivetran_synced
            from conversions where stage = 'opportunity'""",
        "deal_contact": """select 'D' || lead_id as deal_id, lead_id as contact_id, occurred_at as _fivetran_synced
            from conversions where stage = 'opportunity'""",
        "deal_stage": """select 'D' || lead_id as deal_id, replace(stage, '_', '') as value,
            occurred_at as date_entered, true as _fivetran_active, occurred_at as _fivetran_synced
            from conversions where stage in ('closed_won', 'closed_lost')""",
    }


def write_fivetran_hubspot(out: Path, generate_contract, **options) -> dict[str, int]:
    """Generate the demo data (`generate_contract(folder, **options)`), then write it as Fivetran's
    HubSpot tables into `out/<table>/<table>.csv`; return each table's rows."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-contract-", dir=out))
    try:
        generate_contract(staging, **options)
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            for name in ("leads", "accounts", "conversions"):
                files = quote_literal(str(staging / name / "*.csv"))
                con.execute(f"create view {name} as select * from read_csv({files}, header = true)")
            events = quote_literal(str(staging / "activity" / "*.parquet"))
            con.execute(f"create view activity as select * from read_parquet({events})")
            columns = [row[0] for row in con.execute("select column_name from (describe leads)").fetchall()]
            extras = [c for c in columns if c not in SOURCES["leads"].column_names]
            rows = {}
            for table, sql in _tables(extras).items():
                (out / table).mkdir(exist_ok=True)
                target = quote_literal(str(out / table / f"{table}.csv"))
                con.execute(f"copy ({sql}) to {target} (header, timestampformat '%Y-%m-%d %H:%M:%S')")
                (rows[table],) = con.execute(f"select count(*) from ({sql})").fetchone()
            (rows["events_without_a_table"],) = con.execute(
                "select count(*) from activity where event_type not in "
                f"({', '.join(quote_literal(k) for k in EMAIL_TYPES)}, 'unsubscribe', 'form_submission')"
            ).fetchone()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows
