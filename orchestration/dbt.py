"""dbt: staging -> intermediate -> marts -> scoring, built with `dbt build` so tests run as checks."""

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dbt import asset_utils as dbt_asset_utils
from dagster_duckdb import DuckDBResource

from orchestration.engine_source import prepare_engine_source, statements_file
from orchestration.project import dbt_project
from orchestration.resources import LeadopsDbtCli, ModelEngine, Warehouse

# How the dbt project learns the as_of date from Dagster (macros/as_of.sql).
AS_OF_ENV = "LEADOPS_AS_OF"


class LeadopsTranslator(DagsterDbtTranslator):
    """Keys are `<schema>/<name>`, and a source `raw.leads` is the ingest asset `raw/leads`, so the
    lineage is one graph (a source that another asset writes, as the leads ingest writes
    `raw.lead_attributes`, names that asset in its meta); groups are the model's folder (staging,
    intermediate, marts, scoring); a model whose meta sets `freshness_fail_hours` gets a freshness policy."""

    def __init__(self, settings: DagsterDbtTranslatorSettings | None = None):
        # raw.leads and raw.lead_attributes are two sources of one asset, the leads ingest.
        super().__init__(settings or DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            written_by = props.get("meta", {}).get("dagster", {}).get("asset_key")
            return spec.replace_attributes(key=dg.AssetKey(written_by or [props["source_name"], props["name"]]))
        folder = props["fqn"][1] if len(props["fqn"]) > 2 else "dbt"
        spec = spec.replace_attributes(key=dg.AssetKey([props["config"]["schema"], props["name"]]), group_name=folder)
        fail_hours = props["config"].get("meta", {}).get("freshness_fail_hours")
        if fail_hours:  # e.g. the segment tables must be refreshed daily
            window = timedelta(hours=float(fail_hours))
            spec = spec.replace_attributes(freshness_policy=dg.FreshnessPolicy.time_window(fail_window=window))
        return spec


# dbt's unit tests pin the scoring math on fixed inputs, so they can only fail when the code changes:
# the test suite runs them (tests/integration/test_pipeline.py), and a nightly build does not pay for
# them again, as dbt recommends for production runs.
PRODUCTION_EXCLUDES = ("--exclude-resource-type", "unit_test")
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


@contextmanager
def default_selection_read_from_the_manifest() -> Iterator[None]:
    """While dbt assets are defined, their default selection (every node) is the manifest's nodes.

    With dbt-core installed, dagster-dbt evaluates even that selection with dbt-core's selector,
    whose import (dbt.graph, networkx) costs 0.2 s of every load of these definitions: the UI, the
    daemon and every run pay it. Without dbt-core, dagster-dbt reads the default selection from the
    manifest itself, as this does; any other selection still goes to dbt-core. A unit test checks
    that both give the same assets and checks."""
    select_with_dbt_core = dbt_asset_utils.select_unique_ids

    def select_unique_ids(*, select: str, exclude: str, selector: str, project, manifest_json) -> set[str]:
        if select == "fqn:*" and not exclude and not selector:
            return set(manifest_json["nodes"])
        return select_with_dbt_core(
            select=select, exclude=exclude, selector=selector, project=project, manifest_json=manifest_json
        )

    dbt_asset_utils.select_unique_ids = select_unique_ids
    try:
        yield
    finally:
        dbt_asset_utils.select_unique_ids = select_with_dbt_core


def leadops_dbt_assets(function: Callable) -> dg.AssetsDefinition:
    """The dbt project's models as assets and its tests as checks (see LeadopsTranslator)."""
    with default_selection_read_from_the_manifest():
        return dbt_assets(
            manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LeadopsTranslator()
        )(function)


@leadops_dbt_assets
def leadops_dbt_models(
    context: dg.AssetExecutionContext, dbt: LeadopsDbtCli, engine: ModelEngine, warehouse: Warehouse
):
    as_of = warehouse.as_of(context).isoformat()
    variables = engine.dbt_vars()
    shared = engine.share_inputs(warehouse.database)
    if shared:
        context.log.info(f"exported {len(shared)} raw and config tables to {engine.lake_path} for {engine.target}")
    # Each target keeps its own artifacts, so a Spark run never replaces the manifest Dagster loads.
    target_path = None if engine.is_embedded else dbt_project.target_path / engine.target
    if engine.engine_source:  # the sync's tables in Spark's catalog become the raw tables there
        variables["engine_source"] = str(statements_file(Path(engine.lake_path)))
        for note in prepare_engine_source(
            dbt,
            engine.engine_source,
            engine.engine_source_schema,
            Path(variables["engine_source"]),
            target_path,
            variables,
        ):
            (context.log.warning if ": not read: " in note else context.log.info)(note)
    context.log.info(f"dbt build on {engine.target} as of {as_of}" + (f" with {variables}" if variables else ""))
    invocation = dbt.cli(
        ["build", *(["--vars", json.dumps(variables)] if variables else []), *PRODUCTION_EXCLUDES],
        context=context,
        target_path=target_path,
        raise_on_error=False,
        extra_env={AS_OF_ENV: as_of},
    )
    # dbt holds the DuckDB file until it exits, so the tables are described after it has.
    events = list(invocation.stream())
    tests = [e for e in events if isinstance(e, dg.AssetCheckResult)]
    context.log.info(
        f"dbt build: {sum(isinstance(e, dg.Output) for e in events)} models built; {len(tests)} tests, "
        f"{sum(not t.passed for t in tests)} failed"
    )
    yield from (with_table_metadata(context, events, warehouse) if engine.is_embedded else events)
    if target_path is None:  # dagster-dbt gave the invocation a folder of its own
        not_kept = keep_parse_for_next_run(invocation.target_path)
        if not_kept:
            context.log.warning(f"dbt's parse was not kept for the next run, which will parse in full: {not_kept}")
        prune_run_artifacts(invocation.target_path)
    if not invocation.is_successful():
        raise invocation.get_error()


def keep_parse_for_next_run(run_target: Path, kept_in: Path = dbt_project.manifest_path.parent) -> OSError | None:
    """Make this invocation's parse the one the next invocation starts from; return why it could
    not be kept, if it could not (the build stands either way: the next run parses in full).

    dagster-dbt copies `target/partial_parse.msgpack` into each invocation's own folder, and dbt
    reuses it only if it was made with the same profile: the one `leadops prepare` wrote names the
    default warehouse, so a run on any other paid a parse of the whole project (2.4 s at every run).
    The file is replaced in one step, so a run starting meanwhile reads the old one or the new one;
    dbt checks every file's checksum before reusing a parse, so a stale one costs a parse, never a
    wrong build."""
    made = run_target / PARTIAL_PARSE_FILE
    if not made.exists():
        return None
    kept = kept_in / PARTIAL_PARSE_FILE
    partial = kept.with_name(f".{kept.name}.{run_target.name}.partial")
    try:
        shutil.copyfile(made, partial)
        os.replace(partial, kept)
    except OSError as error:
        partial.unlink(missing_ok=True)
        return error
    return None


# Each dbt invocation writes its artifacts (manifest, run_results, compiled SQL: about 8 MB at the
# large scale) to a folder of its own; a nightly schedule would otherwise grow the disk by 3 GB a year.
KEPT_RUN_ARTIFACTS = 20


def prune_run_artifacts(run_target: Path) -> None:
    """Keep the artifacts of the newest KEPT_RUN_ARTIFACTS invocations of this asset: the folders
    named like `run_target` (`leadops_dbt_models-<run>-<step>`) beside it."""
    prefix = run_target.name.rsplit("-", 2)[0] + "-"
    siblings = sorted(
        (p for p in run_target.parent.glob(f"{prefix}*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in siblings[KEPT_RUN_ARTIFACTS:]:
        if old != run_target:
            shutil.rmtree(old, ignore_errors=True)


def with_table_metadata(context: dg.AssetExecutionContext, events: list, warehouse: DuckDBResource) -> Iterator[Any]:
    """Each built table's row count, and for the score tables what a reviewer looks at first."""
    with warehouse.get_connection() as con:
        tables = {
            f"{schema}/{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall()
        }
        for event in events:
            if not isinstance(event, dg.Output):
                yield event
                continue
            key = context.asset_key_for_output(event.output_name).to_user_string()
            if key not in tables:
                yield event
                continue
            schema, name = key.split("/")
            (rows,) = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
            yield event.with_metadata({**event.metadata, "dagster/row_count": rows, **_previews(con, key)})


def _previews(con, key: str) -> dict[str, dg.MetadataValue]:
    if key == "marts/lead_scores":
        bands = con.execute(
            "select least(floor(score / 10) * 10, 90)::int as band, count(*) from marts.lead_scores "
            "group by band order by band"
        ).fetchall()
        top = con.execute(
            "select lead_id, coalesce(company_name, ''), score, score_label, segment, coalesce(hot_trigger, '') "
            "from marts.lead_scores order by score desc, lead_id limit 10"
        ).fetchall()
        return {
            "score_distribution": dg.MetadataValue.md(
                "| score | leads |\n|---|---|\n"
                + "\n".join(f"| {band}-{band + 10 if band < 90 else 100} | {n} |" for band, n in bands)
            ),
            "preview": dg.MetadataValue.md(
                "| lead | company | score | grade | segment | hot |\n|---|---|---|---|---|---|\n"
                + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in top)
            ),
        }
    if key == "marts/segment_members":
        counts = con.execute(
            "select list_type, segment, count(*) from marts.segment_members group by all order by 1, 3 desc"
        ).fetchall()
        return {
            "segment_counts": dg.MetadataValue.md(
                "| list type | segment | leads |\n|---|---|---|\n"
                + "\n".join(f"| {t} | {s} | {n} |" for t, s, n in counts)
            )
        }
    return {}
