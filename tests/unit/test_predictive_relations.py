"""The tables leadops.predictive reads are the ones dbt says it builds: taken from the manifest, followed
when a model moves to another schema or takes an alias."""

import copy
import json
import re
from datetime import date

import duckdb
import pytest

from leadops.predictive import Relation, Relations, current_attributes_sql, data_as_of
from orchestration.predictive import READ_NODES, relations_from_manifest
from orchestration.project import dbt_project


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


def _created_by_dbt(manifest: dict, unique_id: str) -> tuple[str, str]:
    """(schema, table) of the relation dbt materialises the node as: its relation_name without the database."""
    node = manifest["sources" if unique_id.startswith("source.") else "nodes"][unique_id]
    *_, schema, table = (part.strip('"') for part in node["relation_name"].split("."))
    return schema, table


def test_the_relations_from_the_real_manifest_are_the_tables_dbt_creates(manifest):
    relations = relations_from_manifest()
    for name, unique_id in READ_NODES.items():
        relation = getattr(relations, name)
        assert (relation.schema, relation.name) == _created_by_dbt(manifest, unique_id), name
    # Today's names are the defaults, so the CLI and the tests that build their own tables agree with dbt.
    assert relations == Relations()
    materialized = {
        manifest["nodes"][key]["config"]["materialized"] for key in READ_NODES.values() if key in manifest["nodes"]
    }
    assert materialized <= {"table", "view", "incremental"}  # each is a relation dbt creates, not ephemeral SQL


def test_a_model_moved_to_another_schema_or_aliased_is_followed(manifest):
    moved = copy.deepcopy(manifest)
    scores = moved["nodes"]["model.leadops.lead_scores"]
    scores["schema"], scores["alias"] = "scoring_v2", "lead_scores_current"
    moved["sources"]["source.leadops.raw.leads"]["identifier"] = "crm_leads"
    relations = relations_from_manifest(moved)
    assert relations.lead_scores == Relation("scoring_v2", "lead_scores_current")
    assert relations.raw_leads == Relation("raw", "crm_leads")
    assert relations.leads == Relations().leads
    assert '"raw"."crm_leads"' in current_attributes_sql(relations)


def test_the_code_reads_the_relations_it_is_given(con):
    relations = Relations(lead_scores=Relation("scoring_v2", "lead scores"))
    con.execute('create schema scoring_v2; create table scoring_v2."lead scores" (as_of_date date)')
    con.execute("insert into scoring_v2.\"lead scores\" values ('2024-05-31')")
    assert data_as_of(con, relations) == date(2024, 5, 31)
    with pytest.raises(duckdb.CatalogException, match="lead_scores"):
        data_as_of(con)  # the default relation, absent here


def test_a_model_missing_from_the_manifest_is_named(manifest):
    gone = copy.deepcopy(manifest)
    del gone["nodes"]["model.leadops.int_leads_enriched"]
    with pytest.raises(
        KeyError, match=re.escape("model.leadops.int_leads_enriched, which leadops.predictive reads as leads")
    ):
        relations_from_manifest(gone)
