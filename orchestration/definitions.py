"""Assembles leadops' Dagster definitions; each domain module owns its assets, checks and schedules."""

import dagster as dg

from orchestration.automation import nightly_refresh, refresh_job
from orchestration.dbt import leadops_dbt_models
from orchestration.ingest import ingest_assets, landing_specs
from orchestration.quality import mart_checks
from orchestration.resources import DBT_TARGET, EMBEDDED_TARGET, build_resources
from orchestration.scoring import calibration_report, scoring_config

defs = dg.Definitions(
    # The calibration report and the mart checks query DuckDB; on another engine the marts are
    # guarded by their dbt tests.
    assets=[
        *landing_specs,
        *ingest_assets,
        scoring_config,
        leadops_dbt_models,
        *([calibration_report] if DBT_TARGET == EMBEDDED_TARGET else []),
    ],
    asset_checks=mart_checks if DBT_TARGET == EMBEDDED_TARGET else [],
    jobs=[refresh_job],
    schedules=[nightly_refresh],
    resources=build_resources(),
)
