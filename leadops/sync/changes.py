"""Which leads' CRM values changed since the destination last accepted them, worked out in one
set-based pass in DuckDB: every lead's outgoing values and their hash, compared with the hash the
destination last accepted (ops.sync_state). Nothing per lead runs in Python until a record is
actually sent.

The hash covers the record the values go to and every field written except the as-of date, so a
night that changes nothing sends nothing, and a changed field mapping resends what it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from leadops.exports import TOP_REASONS_CTES
from leadops.sql import quote_identifier, quote_literal, table_exists
from leadops.sync.settings import NOT_A_CHANGE, VALUES, SyncConfig
from leadops.sync.state import ensure_state_tables

OUTGOING = "sync_outgoing"  # temp: every lead's values for the destination
CHANGES = "sync_changes"  # temp: the leads to send, in the order they are sent
CRM_ATTRIBUTES = ("crm_object_type", "converted_contact_id")


@dataclass(frozen=True)
class Plan:
    destination: str
    considered: int  # leads scored
    changed: int  # leads whose values differ from what the destination last accepted, or it refused
    fields: list[tuple[str, str]]  # (leadops value, CRM field) written, Rating last when mapped


def plan_changes(
    con: duckdb.DuckDBPyConnection, destination: str, config: SyncConfig, ids_of: str | None, full: bool = False
) -> Plan:
    """Fill the temp tables `sync_outgoing` and `sync_changes` for `destination`. `ids_of`: the CRM
    whose record ids the leads' ids are (the source mapping's `crm`), else leads match by email."""
    ensure_state_tables(con)
    fields = [(value, field.name) for value, field in config.fields(destination)]
    expressions = [(name, VALUES[value].sql) for value, name in fields]
    if destination == "salesforce" and config.salesforce.rating:
        cases = " ".join(
            f"when {quote_literal(segment)} then {quote_literal(rating)}"
            for segment, rating in config.salesforce.rating.items()
        )
        expressions.append(("Rating", f"case scores.segment {cases} end"))
        fields.append(("rating", "Rating"))
    compared = [
        (name, sql) for (value, name), (_, sql) in zip(fields, expressions, strict=True) if value not in NOT_A_CHANGE
    ]
    record_id, object_type = _record(destination, ids_of)
    value_columns = ",\n            ".join(f"{sql} as {quote_identifier('v:' + name)}" for name, sql in expressions)
    hashed = (
        " || chr(30) || ".join(
            f"{quote_literal(name)} || '=' || coalesce({quote_identifier('v:' + name)}, chr(0))" for name, _ in compared
        )
        or "''"
    )
    keys = ", ".join(quote_literal(name) for name, _ in expressions)
    values = ", ".join(quote_identifier("v:" + name) for name, _ in expressions)
    con.execute(
        f"""
        create or replace temp table {OUTGOING} as
        with {TOP_REASONS_CTES},
        crm_attributes as ({_crm_attributes(con)}),
        predictions as ({_predictions(con)}),
        scoring_config as ({_scoring_config(con)}),
        valued as (
            select
                scores.lead_id,
                scores.email,
                scores.segment,
                {record_id} as record_id,
                {object_type} as object_type,
                {value_columns}
            from marts.lead_scores as scores
            left join reasons on scores.lead_id = reasons.lead_id
            left join predictions on scores.lead_id = predictions.lead_id
            left join crm_attributes on scores.lead_id = crm_attributes.lead_id
            cross join scoring_config
        )
        select
            lead_id, email, segment, record_id, object_type,
            map([{keys}], [{values}]) as field_values,
            md5(coalesce(record_id, '') || chr(31) || object_type || chr(31) || {hashed}) as values_hash
        from valued
        """
    )
    con.execute(
        f"""
        create or replace temp table {CHANGES} as
        select
            outgoing.lead_id,
            outgoing.email,
            outgoing.segment,
            coalesce(outgoing.record_id, state.record_id) as record_id,
            outgoing.object_type,
            outgoing.field_values,
            outgoing.values_hash,
            state.accepted_values as previous_values
        from {OUTGOING} as outgoing
        left join ops.sync_state as state
            on state.destination = ? and state.lead_id = outgoing.lead_id
        where ? or state.accepted_hash is distinct from outgoing.values_hash or state.error is not null
        order by outgoing.lead_id
        """,
        [destination, full],
    )
    (considered,) = con.execute(f"select count(*) from {OUTGOING}").fetchone()
    (changed,) = con.execute(f"select count(*) from {CHANGES}").fetchone()
    return Plan(destination, considered, changed, fields)


def field_changes(con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, int]:
    """CRM field -> how many of the records to send change it (all of them for a record never sent)."""
    if not plan.fields:
        return {}
    counts = ", ".join(
        f"count_if(previous_values is null or previous_values[{quote_literal(name)}] "
        f"is distinct from field_values[{quote_literal(name)}])"
        for _, name in plan.fields
    )
    row = con.execute(f"select {counts} from {CHANGES}").fetchone()
    return {name: count for (_, name), count in zip(plan.fields, row, strict=True)}


def segment_changes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return con.execute(f"select segment, count(*) from {CHANGES} group by 1 order by 2 desc, 1").fetchall()


def _record(destination: str, ids_of: str | None) -> tuple[str, str]:
    """SQL of the record a lead's values go to (its id, or null to match by email) and its type."""
    if destination == "hubspot":
        return ("scores.lead_id" if ids_of == "hubspot" else "null::varchar"), "'contact'"
    if ids_of != "salesforce":
        return "null::varchar", "'Lead'"
    # A converted lead is read-only in Salesforce: its values go to the contact it became.
    return (
        "coalesce(crm_attributes.converted_contact_id, scores.lead_id)",
        "case when crm_attributes.converted_contact_id is not null "
        "or lower(crm_attributes.crm_object_type) = 'contact' then 'Contact' else 'Lead' end",
    )


def _crm_attributes(con: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(con, "raw", "lead_attributes"):
        return (
            "select null::varchar as lead_id, null::varchar as crm_object_type, null::varchar as converted_contact_id"
        )
    pivots = ", ".join(
        f"max(nullif(trim(value), '')) filter (where attribute = {quote_literal(a)}) as {a}" for a in CRM_ATTRIBUTES
    )
    names = ", ".join(quote_literal(a) for a in CRM_ATTRIBUTES)
    return f"select lead_id, {pivots} from raw.lead_attributes where attribute in ({names}) group by lead_id"


def _predictions(con: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(con, "marts", "lead_predictions"):
        return "select null::varchar as lead_id, null::double as conversion_probability, null::varchar as model_version"
    return "select lead_id, conversion_probability, model_version from marts.lead_predictions"


def _scoring_config(con: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(con, "ops", "scoring_config"):
        return "select null::varchar as config_version"
    return "select any_value(config_version) as config_version from ops.scoring_config"
