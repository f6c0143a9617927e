"""Scoring: the validated scoring configuration as `config.*` tables for the dbt scoring models."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.config import CONFIG_TABLE_COLUMNS, write_config_tables
from orchestration.resources import ScoringConfigFile

config_specs = [
    dg.AssetSpec(
        key=dg.AssetKey(["config", table]),
        description=f"`config.{table}`: part of scoring.yml, validated and written as rows.",
        group_name="scoring",
        kinds={"duckdb", "yaml"},
    )
    for table in CONFIG_TABLE_COLUMNS
]


@dg.multi_asset(specs=config_specs, name="scoring_config")
def scoring_config(context: dg.AssetExecutionContext, warehouse: DuckDBResource, scoring_config: ScoringConfigFile):
    """Validates scoring.yml (a malformed file fails here, naming the entry) and writes its rules."""
    config = scoring_config.load()
    with warehouse.get_connection() as con:
        row_counts = write_config_tables(con, config)
    context.log.info(f"scoring configuration {config.version_hash}: {row_counts}")
    for table, rows in row_counts.items():
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["config", table]),
            metadata={
                "rows": rows,
                "config_version": config.version_hash,
                "config_file": scoring_config.path,
            },
        )
