"""dbt: staging -> intermediate -> marts -> scoring, built with `dbt build` so tests run as checks."""

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from orchestration.project import dbt_project
from orchestration.resources import ModelEngine, as_of_for


class LeadopsTranslator(DagsterDbtTranslator):
    """Keys are `<schema>/<name>`, and a source `raw.leads` is the ingest asset `raw/leads`, so the
    lineage is one graph; groups are the model's folder (staging, intermediate, marts, scoring);
    a model whose meta sets `freshness_fail_hours` gets a freshness policy."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([props["source_name"], props["name"]]))
        folder = props["fqn"][1] if len(props["fqn"]) > 2 else "dbt"
        spec = spec.replace_attributes(key=dg.AssetKey([props["config"]["schema"], props["name"]]), group_name=folder)
        fail_hours = props["config"].get("meta", {}).get("freshness_fail_hours")
        if fail_hours:  # e.g. the segment tables must be refreshed daily
            window = timedelta(hours=float(fail_hours))
            spec = spec.replace_attributes(freshness_policy=dg.FreshnessPolicy.time_window(fail_window=window))
        return spec


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LeadopsTranslator())
def leadops_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, engine: ModelEngine, warehouse: DuckDBResource
):
    variables = engine.dbt_vars(as_of_for(context))
    shared = engine.share_inputs(warehouse.database)
    if shared:
        context.log.info(f"exported {len(shared)} raw and config tables to {engine.lake_path} for {engine.target}")
    context.log.info(f"dbt build on {engine.target} with {variables}")
    # Each target keeps its own artifacts, so a Spark run never replaces the manifest Dagster loads.
    target_path = None if engine.is_embedded else dbt_project.target_path / engine.target
    yield from dbt.cli(["build", "--vars", json.dumps(variables)], context=context, target_path=target_path).stream()
