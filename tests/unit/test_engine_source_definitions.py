"""`--source-database spark`: the sync's tables in the Spark catalog start the lineage, the raw
tables are written there by the engine, and no ingest asset loads anything into DuckDB."""

import dagster as dg
import pytest

from leadops.settings import Settings
from leadops.sources.engine_rules import engine_statements
from leadops.sources.engine_sql import SPARK
from leadops.sources.mapping import load_mapping
from orchestration.definitions import build_definitions


def engine_graph(tmp_path, **settings):
    return build_definitions(
        Settings(
            warehouse=tmp_path / "w.duckdb",
            source="fivetran-hubspot",
            source_database="spark",
            dbt_target="spark",
            **settings,
        )
    )


def test_the_syncs_tables_feed_the_raw_tables_and_nothing_ingests(tmp_path):
    defs = engine_graph(tmp_path, source_schema="hubspot_prod")
    graph = defs.resolve_asset_graph()
    contact = graph.get(dg.AssetKey(["landing", "contact"]))
    assert not contact.is_materializable and "`hubspot_prod.contact` in the Spark catalog" in contact.description
    leads = graph.get(dg.AssetKey(["raw", "leads"]))
    assert not leads.is_materializable  # written by Spark in the dbt build's on-run-start
    assert set(leads.parent_keys) == {dg.AssetKey(["landing", t]) for t in ("contact", "contact_merge_audit")}
    activity = graph.get(dg.AssetKey(["raw", "activity"]))
    assert dg.AssetKey(["landing", "engagement_contact"]) in activity.parent_keys
    assert dg.AssetKey(["raw", "leads"]) in graph.get(dg.AssetKey(["staging", "stg_raw__leads"])).parent_keys
    materializable = {key.to_user_string() for key in graph.materializable_asset_keys}
    assert not {key for key in materializable if key.startswith(("raw/", "landing/"))}
    assert defs.resources["engine"].engine_source_schema == "hubspot_prod"


def test_the_engine_route_needs_a_spark_target_and_a_syncs_mapping(tmp_path):
    with pytest.raises(ValueError, match="use a Spark dbt target"):
        build_definitions(Settings(warehouse=tmp_path / "w.duckdb", source="fivetran-hubspot", source_database="spark"))
    with pytest.raises(ValueError, match="reads files, not a sync's tables"):
        settings = {"source": "hubspot-export", "source_database": "spark", "dbt_target": "spark"}
        build_definitions(Settings(warehouse=tmp_path / "w.duckdb", **settings))


def test_spark_statements_quote_what_the_mapping_gives():
    """Values reach Spark's SQL as literals with its escapes; a table the schema lacks is left out."""
    columns = {"contact": [("id", "string"), ("property_email", "string"), ("property_createdate", "timestamp")]}
    rendered = engine_statements(load_mapping("fivetran-hubspot"), SPARK, "hub`spot", columns)
    text = "\n".join(rendered.statements)
    assert "`hub``spot`.`contact`" in text and "using parquet" in text
    assert "'an earlier version of the record (history mode)'" not in text  # the column is optional and absent
    assert "rlike '^(?:^[^@\\\\s]+@" in text  # the address rule's backslashes, escaped as Spark reads them
    assert "hub`spot.email_event -> activity: not read" not in rendered.notes
    assert any(note.startswith("email_event -> activity: not read") for note in rendered.notes)
