"""Assembles leadops' Dagster definitions from the deployment's settings; each domain module owns
its assets, checks and schedules.

`dagster dev`, the daemon and `dg` load `defs`, built from the environment when this module is
imported; the CLI builds its own from its flags with `build_definitions`. Either way the shape of
the definitions follows from the `Settings` alone.
"""

import dagster as dg

from leadops.settings import Settings
from leadops.sources.mapping import load_mapping
from orchestration.alerts import alert_assets
from orchestration.automation import (
    landing_files_sensor,
    nightly_refresh,
    refresh_job,
    run_log_on_failure,
    run_log_on_success,
)
from orchestration.dbt import leadops_dbt_models
from orchestration.engine_source import engine_source_specs
from orchestration.extract import extract_assets
from orchestration.findings import finding_checks
from orchestration.ingest import ingest_assets, landing_specs
from orchestration.predictive import conversion_model, lead_predictions, retrain_job, weekly_retrain
from orchestration.publishing import publishing_assets
from orchestration.quality import mart_checks
from orchestration.resources import build_resources, transient_retry
from orchestration.scoring import calibration_report, scoring_config
from orchestration.sync import sync_assets


def build_definitions(settings: Settings) -> dg.Definitions:
    retry = transient_retry(settings)
    mapping = load_mapping(settings.source)
    # The calibration report, the published copy, alerts and the mart checks read DuckDB; on
    # another engine the marts stay there, guarded by their dbt tests.
    in_duckdb = settings.is_embedded
    downstream = [
        calibration_report,
        *publishing_assets(retry),
        *alert_assets(retry),
        conversion_model,
        lead_predictions,
        *sync_assets(settings, mapping),
    ]
    return dg.Definitions(
        assets=[
            # A sync's tables in the Spark catalog are read there, by the engine: no DuckDB ingest.
            *(
                engine_source_specs(settings, mapping)
                if settings.reads_source_in_engine
                else [
                    *(extract_assets(settings, mapping, retry) or landing_specs(mapping)),
                    *ingest_assets(mapping, retry),
                ]
            ),
            scoring_config,
            leadops_dbt_models,
            *(downstream if in_duckdb else []),
        ],
        asset_checks=[*mart_checks, *finding_checks] if in_duckdb else [],
        jobs=[refresh_job, *([retrain_job] if in_duckdb else [])],
        schedules=[nightly_refresh(settings), *([weekly_retrain(settings)] if in_duckdb else [])],
        sensors=[landing_files_sensor(settings), run_log_on_success, run_log_on_failure],
        resources=build_resources(settings, mapping),
    )


defs = build_definitions(Settings.load())
