"""Assembles leadops' Dagster definitions; each domain module owns its assets, checks and schedules."""

import dagster as dg

from orchestration.alerts import segment_alerts
from orchestration.automation import (
    landing_files_sensor,
    nightly_refresh,
    refresh_job,
    run_log_on_failure,
    run_log_on_success,
)
from orchestration.dbt import leadops_dbt_models
from orchestration.findings import finding_checks
from orchestration.ingest import ingest_assets, landing_specs
from orchestration.predictive import conversion_model, lead_predictions, retrain_job, weekly_retrain
from orchestration.publishing import published_marts, segment_exports
from orchestration.quality import mart_checks
from orchestration.resources import DBT_TARGET, EMBEDDED_TARGET, build_resources
from orchestration.scoring import calibration_report, scoring_config

defs = dg.Definitions(
    # The calibration report, the published copy, alerts and the mart checks read DuckDB; on
    # another engine the marts stay there, guarded by their dbt tests.
    assets=[
        *landing_specs,
        *ingest_assets,
        scoring_config,
        leadops_dbt_models,
        *(
            [calibration_report, published_marts, segment_exports, segment_alerts, conversion_model, lead_predictions]
            if DBT_TARGET == EMBEDDED_TARGET
            else []
        ),
    ],
    asset_checks=[*mart_checks, *finding_checks] if DBT_TARGET == EMBEDDED_TARGET else [],
    jobs=[refresh_job, *([retrain_job] if DBT_TARGET == EMBEDDED_TARGET else [])],
    schedules=[nightly_refresh, *([weekly_retrain] if DBT_TARGET == EMBEDDED_TARGET else [])],
    sensors=[landing_files_sensor, run_log_on_success, run_log_on_failure],
    resources=build_resources(),
)
