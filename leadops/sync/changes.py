"""Which leads' CRM values changed since the destination last accepted them, worked out in one
set-based pass in DuckDB over the published copy (what sales and the exports see): every lead's
outgoing values hashed, compared with the hash the destination last accepted (ops.sync_state).
Nothing per lead runs in Python until a record is actually sent, and only the changed leads' values
are gathered into records.

The hash covers the record the values go to and every field written except the as-of date, so a
night that changes nothing sends nothing, and a changed field mapping resends what it changes. A
record the destination refused counts as changed until it is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from leadops.exports import reasons_ctes
from leadops.sql import quote_identifier, quote_literal, table_exists
from leadops.sync.settings import NOT_A_CHANGE, VALUES, SyncConfig
from leadops.sync.state import ensure_state_tables

CHANGES = "sync_changes"  # temp: the leads to send, in the order they are sent
CRM_RECORDS = "lead_crm_records"  # in the published copy: each lead's CRM object type and converted contact
CRM_ATTRIBUTES = ("crm_object_type", "converted_contact_id")


@dataclass(frozen=True)
class Plan:
    destination: str
    considered: int  # leads scored
    changed: int  # leads whose values differ from what the destination last accepted, or it refused
    fields: list[tuple[str, str]]  # (leadops value, CRM field) written, Rating last when mapped
    catalog: str | None = None  # the database the scores were read from (None: the connection's own)


def plan_changes(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    config: SyncConfig,
    ids_of: str | None,
    full: bool = False,
    catalog: str | None = None,
) -> Plan:
    """Fill the temp table `sync_changes` for `destination` from the marts of `catalog` (the
    published copy, attached; None: the connection's database). `ids_of`: the CRM whose record
    ids the leads' ids are (the source mapping's `crm`), else leads match by email."""
    ensure_state_tables(con)
    marts = f"{catalog}.marts" if catalog else "marts"
    fields = [(value, field.name) for value, field in config.fields(destination)]
    expressions = [(name, VALUES[value].sql) for value, name in fields]
    if destination == "salesforce" and config.salesforce.rating:
        cases = " ".join(
            f"when {quote_literal(segment)} then {quote_literal(rating)}"
            for segment, rating in config.salesforce.rating.items()
        )
        expressions.append(("Rating", f"case scores.segment {cases} end"))
        fields.append(("rating", "Rating"))
    compared = [name for (value, name) in fields if value not in NOT_A_CHANGE]
    record_id, object_type = _record(destination, ids_of)
    columns = {name: quote_identifier("v:" + name) for name, _ in expressions}
    value_columns = ",\n                ".join(f"{sql} as {columns[name]}" for name, sql in expressions)
    # The names once, as a constant, then each value (an empty one as chr(1), told apart from ''):
    # one concat_ws over the values is 4 times cheaper than a chain of || around name=value pairs.
    hashed = ", ".join(
        [
            quote_literal(",".join(compared)),
            "coalesce(record_id, chr(1))",
            "object_type",
            *(f"coalesce({columns[name]}, chr(1))" for name in compared),
        ]
    )
    keys = ", ".join(quote_literal(name) for name in columns)
    con.execute(
        f"""
        create or replace temp table {CHANGES} as
        with {reasons_ctes(con, catalog)},
        crm_records as ({_crm_records(con, catalog)}),
        predictions as ({_predictions(con, marts, catalog)}),
        scoring_config as ({_scoring_config(con, catalog)}),
        valued as (
            select
                scores.lead_id,
                scores.email,
                scores.segment,
                {record_id} as record_id,
                {object_type} as object_type,
                {value_columns}
            from {marts}.lead_scores as scores
            left join reasons on scores.lead_id = reasons.lead_id
            left join predictions on scores.lead_id = predictions.lead_id
            left join crm_records on scores.lead_id = crm_records.lead_id
            cross join scoring_config
        ),
        hashed as (
            select *, md5(concat_ws(chr(30), {hashed})) as values_hash
            from valued
        ),
        changed as (
            select hashed.*, state.record_id as known_record_id
            from hashed
            left join ops.sync_state as state
                on state.destination = ? and state.lead_id = hashed.lead_id
            where ? or state.accepted_hash is distinct from hashed.values_hash or state.error is not null
        )
        select
            lead_id,
            email,
            segment,
            coalesce(record_id, known_record_id) as record_id,
            object_type,
            map([{keys}], [{", ".join(columns.values())}]) as field_values,
            values_hash,
            row_number() over (order by lead_id) - 1 as seq
        from changed
        order by lead_id
        """,
        [destination, full],
    )
    (considered,) = con.execute(f"select count(*) from {marts}.lead_scores").fetchone()
    (changed,) = con.execute(f"select count(*) from {CHANGES}").fetchone()
    return Plan(destination, considered, changed, fields, catalog)


def field_changes(con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, int]:
    """CRM field -> how many of the records to send change it (all of them for a record never sent)."""
    if not plan.fields:
        return {}
    counts = ", ".join(
        f"count_if(state.accepted_values is null or state.accepted_values[{quote_literal(name)}] "
        f"is distinct from changes.field_values[{quote_literal(name)}])"
        for _, name in plan.fields
    )
    row = con.execute(
        f"select {counts} from {CHANGES} as changes left join ops.sync_state as state "
        "on state.destination = ? and state.lead_id = changes.lead_id",
        [plan.destination],
    ).fetchone()
    return {name: count for (_, name), count in zip(plan.fields, row, strict=True)}


def segment_changes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return con.execute(f"select segment, count(*) from {CHANGES} group by 1 order by 2 desc, 1").fetchall()


def crm_records_select(con: duckdb.DuckDBPyConnection) -> str:
    """Each lead's CRM object type and, for a converted Salesforce lead, its contact: from the
    custom fields a source mapping fills (raw.lead_attributes of the warehouse)."""
    if not table_exists(con, "raw", "lead_attributes"):
        return (
            "select null::varchar as lead_id, null::varchar as crm_object_type, null::varchar as converted_contact_id"
        )
    pivots = ", ".join(
        f"max(nullif(trim(value), '')) filter (where attribute = {quote_literal(a)}) as {a}" for a in CRM_ATTRIBUTES
    )
    names = ", ".join(quote_literal(a) for a in CRM_ATTRIBUTES)
    return (
        f"select lead_id, {pivots} from raw.lead_attributes where attribute in ({names}) "
        "group by lead_id order by lead_id"
    )


def _record(destination: str, ids_of: str | None) -> tuple[str, str]:
    """SQL of the record a lead's values go to (its id, or null to match by email) and its type."""
    if destination == "hubspot":
        return ("scores.lead_id" if ids_of == "hubspot" else "null::varchar"), "'contact'"
    if ids_of != "salesforce":
        return "null::varchar", "'Lead'"
    # A converted lead is read-only in Salesforce: its values go to the contact it became.
    return (
        "coalesce(crm_records.converted_contact_id, scores.lead_id)",
        "case when crm_records.converted_contact_id is not null "
        "or lower(crm_records.crm_object_type) = 'contact' then 'Contact' else 'Lead' end",
    )


def _crm_records(con: duckdb.DuckDBPyConnection, catalog: str | None) -> str:
    if catalog and table_exists(con, "marts", CRM_RECORDS, catalog):
        return f"select * from {catalog}.marts.{CRM_RECORDS}"
    return crm_records_select(con)


def _predictions(con: duckdb.DuckDBPyConnection, marts: str, catalog: str | None) -> str:
    if not table_exists(con, "marts", "lead_predictions", catalog):
        return "select null::varchar as lead_id, null::double as conversion_probability, null::varchar as model_version"
    return f"select lead_id, conversion_probability, model_version from {marts}.lead_predictions"


def _scoring_config(con: duckdb.DuckDBPyConnection, catalog: str | None) -> str:
    if not table_exists(con, "ops", "scoring_config", catalog):
        return "select null::varchar as config_version"
    prefix = f"{catalog}." if catalog else ""
    return f"select any_value(config_version) as config_version from {prefix}ops.scoring_config"
