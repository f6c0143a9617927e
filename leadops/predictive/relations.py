"""The warehouse tables the predictive code reads, given to it as data.

dbt decides where its models land (a model's schema and alias are configuration), so the code that
reads them takes their names from the caller: the Dagster assets build `Relations` from the dbt
manifest (orchestration/predictive.py); the defaults are where the models land today. The domain
never reads the manifest itself: it must not depend on dagster or dbt.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadops.sql import quote_identifier


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str

    def __str__(self) -> str:
        # Quoted: an alias may be any identifier dbt accepts. The database is left out on purpose: it is
        # the catalog of whichever DuckDB file the caller opened, not the one dbt was parsed against.
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"


@dataclass(frozen=True)
class Relations:
    leads: Relation = Relation("intermediate", "int_leads_enriched")
    signals: Relation = Relation("intermediate", "int_lead_signals")
    activity: Relation = Relation("staging", "stg_raw__activity")
    conversions: Relation = Relation("staging", "stg_raw__conversions")
    lead_scores: Relation = Relation("marts", "lead_scores")
    raw_leads: Relation = Relation("raw", "leads")  # a dbt source, loaded by leadops.loader
    # Written by leadops.loader beside raw.leads and unknown to dbt: no manifest can rename it.
    lead_attributes: Relation = Relation("raw", "lead_attributes")
    # How those fields changed, when the CRM keeps their history (leadops.contract.ATTRIBUTE_HISTORY).
    attribute_history: Relation = Relation("raw", "attribute_history")


DEFAULT_RELATIONS = Relations()
