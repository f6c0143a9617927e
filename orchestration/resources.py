"""Where things live and how assets reach them.

Paths come from environment variables (so the dbt subprocess sees the same warehouse as the
Dagster process), with defaults under the repository's `data/` folder.
"""

import importlib.metadata
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging import version
from pydantic import Field

from leadops.alerts import notifier_from_env
from leadops.config import ScoringConfig, load_config
from leadops.dates import today
from leadops.lake import export_lake
from leadops.run_log import record_start
from leadops.warehouse_lock import hold
from orchestration.project import dbt_executable, dbt_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE_ENV, LANDING_ENV, CONFIG_ENV = "LEADOPS_WAREHOUSE", "LEADOPS_LANDING", "LEADOPS_CONFIG"
TARGET_ENV, LAKE_ENV = "LEADOPS_DBT_TARGET", "LEADOPS_LAKE"
# How the dbt project learns the as_of date from Dagster (macros/as_of.sql).
AS_OF_ENV = "LEADOPS_AS_OF"
DEFAULTS = {
    WAREHOUSE_ENV: PROJECT_ROOT / "data" / "warehouse.duckdb",
    LANDING_ENV: PROJECT_ROOT / "data" / "landing",
    CONFIG_ENV: PROJECT_ROOT / "scoring.yml",
    TARGET_ENV: "duckdb",
    LAKE_ENV: PROJECT_ROOT / "data" / "lake",
}
for _name, _default in DEFAULTS.items():
    os.environ.setdefault(_name, str(_default))

# The dbt target the models build on: `duckdb` (embedded, the default) or a warehouse such as
# `spark`. Ingest always lands in DuckDB; other engines read its raw tables from the Parquet lake.
DBT_TARGET = os.environ[TARGET_ENV]
EMBEDDED_TARGET = "duckdb"

DUCKDB_MEMORY_LIMIT = os.environ.get("LEADOPS_DUCKDB_MEMORY_LIMIT", "2GB")

# The date a run scores as of. `leadops run --as-of` and the schedule set it; without it, today
# (leadops.dates: in the schedule's time zone).
AS_OF_TAG = "leadops/as_of"
# The jobs whose runs the run log records (the CLI and the run-status sensors): they are recorded
# as started too, so one killed on the way is told apart from one that finished.
RECORDED_JOBS = ("refresh",)


# For steps that raise on a passing hiccup (a file briefly locked, a webhook timing out); each asset
# that touches a file or the network opts in. A failed check or a rejected file is not an exception.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=2, delay=float(os.environ.get("LEADOPS_RETRY_DELAY_SECONDS", "5")), backoff=dg.Backoff.EXPONENTIAL
)


def as_of_for(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
    tag = context.run.tags.get(AS_OF_TAG)
    return date.fromisoformat(tag) if tag else today()


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


class ModelEngine(dg.ConfigurableResource):
    """Where the dbt models run, and how they reach the raw tables there."""

    target: str
    lake_path: str

    @property
    def is_embedded(self) -> bool:
        return self.target == EMBEDDED_TARGET

    def dbt_vars(self) -> dict[str, str]:
        """The dbt vars of a build: where an engine that cannot open the DuckDB file finds the raw
        tables. The as_of date is not a var (see AS_OF_ENV): a var that changes every night would
        make dbt parse the whole project on every run."""
        return {} if self.is_embedded else {"lake_path": str(Path(self.lake_path).resolve())}

    def share_inputs(self, warehouse: str) -> dict[str, int]:
        """Export the raw and config tables for an engine that cannot open the DuckDB file."""
        return {} if self.is_embedded else export_lake(Path(warehouse), Path(self.lake_path))


class AlertNotifier(dg.ConfigurableResource):
    """Where alerts go. The webhook URL is read from the environment variable named here when the
    step runs, so the secret never appears in a file, in the UI or in the run config."""

    segments: list[str] = Field(default=["sql", "hot"], description="segments whose new members are announced")
    webhook_url_env: str = "LEADOPS_ALERT_WEBHOOK_URL"
    file: str = ""  # default: alerts/alerts.jsonl beside the warehouse

    def notifier(self, warehouse: str):
        default_file = Path(self.file) if self.file else Path(warehouse).resolve().parent / "alerts" / "alerts.jsonl"
        return notifier_from_env(self.webhook_url_env, default_file)


class LeadopsDbtCli(DbtCliResource):
    """dbt as the dbt assets call it, without two costs dagster-dbt pays on every invocation."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt asks the dbt executable for its version (a 2 s subprocess); ours is the
        # dbt-core installed beside this Python, whose version the package metadata already knows.
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):
        # dagster-dbt loads dbt's profile, project and adapter in this process (about 2.7 s) for
        # `fetch_row_counts()` and `fetch_column_metadata()` alone; the dbt assets use neither (they
        # count rows themselves, after dbt has let go of the DuckDB file), so there is no adapter.
        return None


class Warehouse(DuckDBResource):
    """The DuckDB file, held by one run at a time (leadops.warehouse_lock) for the whole run."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # dagster-duckdb closes its connection only when the block ends without an error: one left
        # open made the run log's own connection fail with "a different configuration".
        with super().get_connection() as con:
            try:
                yield con
            finally:
                con.close()

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["Warehouse"]:
        run = context.dagster_run
        if run is None or self.database == ":memory:":  # a sensor's evaluation, or a test's database
            yield self
            return
        with hold(self.database):  # raises WarehouseBusy, naming the holder, without waiting
            if run.job_name in RECORDED_JOBS:
                with self.get_connection() as con:
                    record_start(con, run.run_id, run.job_name, run.tags.get(AS_OF_TAG))
            yield self


def build_resources() -> dict[str, dg.ConfigurableResource]:

    return {
        # The same memory limit as dbt's connections (profiles.yml): the two processes take turns on
        # the file, and a bounded buffer pool spills large ingest batches to disk instead of growing.
        "warehouse": Warehouse(
            database=dg.EnvVar(WAREHOUSE_ENV), connection_config={"memory_limit": DUCKDB_MEMORY_LIMIT}
        ),
        "landing": LandingFolder(path=dg.EnvVar(LANDING_ENV)),
        "scoring_config": ScoringConfigFile(path=dg.EnvVar(CONFIG_ENV)),
        "dbt": LeadopsDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "engine": ModelEngine(target=dg.EnvVar(TARGET_ENV), lake_path=dg.EnvVar(LAKE_ENV)),
        "alert_notifier": AlertNotifier(),
    }
