"""Where things live and how assets reach them.

Paths come from environment variables (so the dbt subprocess sees the same warehouse as the
Dagster process), with defaults under the repository's `data/` folder.
"""

import os
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from leadops.config import ScoringConfig, load_config
from orchestration.project import dbt_executable, dbt_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE_ENV, LANDING_ENV, CONFIG_ENV = "LEADOPS_WAREHOUSE", "LEADOPS_LANDING", "LEADOPS_CONFIG"
DEFAULT_PATHS = {
    WAREHOUSE_ENV: PROJECT_ROOT / "data" / "warehouse.duckdb",
    LANDING_ENV: PROJECT_ROOT / "data" / "landing",
    CONFIG_ENV: PROJECT_ROOT / "scoring.yml",
}
for _name, _default in DEFAULT_PATHS.items():
    os.environ.setdefault(_name, str(_default))

# The date a run scores as of. `leadops run --as-of` and the schedule set it; without it, today (UTC).
AS_OF_TAG = "leadops/as_of"


def as_of_for(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    tag = context.run.tags.get(AS_OF_TAG)
    return date.fromisoformat(tag) if tag else datetime.now(UTC).date()


class LandingFolder(dg.ConfigurableResource):
    """The folder with one subfolder per source (leads/, accounts/, activity/, conversions/)."""

    path: str

    def source_folder(self, source: str) -> Path:
        return Path(self.path) / source


class ScoringConfigFile(dg.ConfigurableResource):
    """The scoring configuration (scoring.yml), validated on every load."""

    path: str

    def load(self) -> ScoringConfig:
        return load_config(self.path)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": DuckDBResource(database=dg.EnvVar(WAREHOUSE_ENV)),
        "landing": LandingFolder(path=dg.EnvVar(LANDING_ENV)),
        "scoring_config": ScoringConfigFile(path=dg.EnvVar(CONFIG_ENV)),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
