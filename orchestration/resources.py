"""The resources assets use, and how they are built from the deployment's settings.

Every value comes from one `leadops.settings.Settings` (flags, then environment, then defaults),
which the CLI and `orchestration/definitions.py` build once and hand over.
"""

import importlib.metadata
import sys
from collections.abc import Iterator, Mapping
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
from leadops.settings import EMBEDDED_TARGET, Settings, published_folder
from leadops.sources.engine_sql import engine_schema
from leadops.sources.mapping import SourceMapping
from leadops.warehouse_lock import hold
from orchestration.dbt_in_process import dbt_in_process, environment
from orchestration.project import dbt_executable, dbt_project

# The date a run scores as of. `leadops run --as-of`, the schedule and the sensor set it; a run
# launched without it (from the UI) scores as of today in the settings' time zone.
AS_OF_TAG = "leadops/as_of"
# The jobs whose runs the run log records (the CLI and the run-status sensors): they are recorded
# as started too, so one killed on the way is told apart from one that finished.
RECORDED_JOBS = ("refresh",)


def transient_retry(settings: Settings) -> dg.RetryPolicy:
    """For steps that raise on a passing hiccup (a file briefly locked, a webhook timing out); each
    asset that touches a file or the network opts in. A failed check or a rejected file is not an
    exception."""
    return dg.RetryPolicy(max_retries=2, delay=settings.retry_delay_seconds, backoff=dg.Backoff.EXPONENTIAL)


def as_of_for(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, timezone: str) -> date:
    tag = context.run.tags.get(AS_OF_TAG)
    return date.fromisoformat(tag) if tag else today(timezone)


class LandingFolder(dg.ConfigurableResource):
    """The folder with one subfolder per source (leads/, accounts/, activity/, conversions/)."""

    path: str

    def source_folder(self, source: str) -> Path:
        return Path(self.path) / source


class ScoringConfigFile(dg.ConfigurableResource):
    """The scoring configuration (scoring.yml), validated on every load."""

    path: str
    event_types: list[str] = Field(default_factory=list, description="those the source mapping adds")

    def load(self) -> ScoringConfig:
        return load_config(self.path, tuple(self.event_types))


class ModelEngine(dg.ConfigurableResource):
    """Where the dbt models run, and how they reach the raw tables there."""

    target: str
    lake_path: str
    # A sync's tables in the engine's catalog (--source-database spark): the mapping and its schema.
    engine_source: str = ""
    engine_source_schema: str = ""

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
    """dbt as the dbt assets call it: with the settings' environment (profiles.yml reads its target,
    warehouse and memory limit from it), and without two costs dagster-dbt pays on every invocation."""

    environment: dict[str, str] = Field(default_factory=dict, description="variables of the dbt process")
    in_process: bool = Field(default=False, description="run dbt in this process (orchestration.dbt_in_process)")

    def cli(self, args, *, extra_env: Mapping[str, str] | None = None, **kwargs):
        # dagster-dbt gives the dbt process a copy of this process's environment, taken when the
        # process starts inside cli(): the variables are in place for that moment only.
        with environment({**self.environment, **(extra_env or {})}):
            if not self.in_process:
                return super().cli(args, **kwargs)
            with dbt_in_process():
                return super().cli(args, **kwargs)

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
    """The DuckDB file, held by one run at a time (leadops.warehouse_lock) for the whole run, and
    the dates it is scored as of."""

    timezone: str = Field(default="UTC", description="the zone of today's date, for a run without an as_of tag")
    published: str = Field(default="", description="published copy and exports; empty: published/ beside it")

    def as_of(self, context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> date:
        """The date this run scores as of."""
        return as_of_for(context, self.timezone)

    @property
    def published_folder(self) -> Path:
        return published_folder(self.database, self.published)

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


def build_resources(settings: Settings, mapping: SourceMapping) -> dict[str, dg.ConfigurableResource]:
    return {
        # The same memory limit as dbt's connections (profiles.yml): the two processes take turns on
        # the file, and a bounded buffer pool spills large ingest batches to disk instead of growing.
        "warehouse": Warehouse(
            database=str(settings.warehouse),
            connection_config={"memory_limit": settings.duckdb_memory_limit},
            timezone=settings.timezone,
            published=str(settings.published or ""),
        ),
        # A database source's feeds read the folders its tables are extracted to.
        "landing": LandingFolder(path=str(_feeds_folder(settings, mapping))),
        "scoring_config": ScoringConfigFile(path=str(settings.config), event_types=list(mapping.event_types)),
        # dbt runs in the step's process on the embedded warehouse; an engine's adapter (Spark's
        # session) keeps a process of its own.
        "dbt": LeadopsDbtCli(
            project_dir=dbt_project,
            dbt_executable=dbt_executable(),
            environment=settings.dbt_environment(),
            in_process=settings.dbt_target == EMBEDDED_TARGET,
        ),
        "engine": ModelEngine(
            target=settings.dbt_target,
            lake_path=str(settings.lake),
            engine_source=settings.source if settings.reads_source_in_engine else "",
            engine_source_schema=engine_schema(settings.source_schema, mapping)
            if settings.reads_source_in_engine
            else "",
        ),
        "alert_notifier": AlertNotifier(),
    }


def _feeds_folder(settings: Settings, mapping: SourceMapping) -> Path:
    if settings.source_database is None or settings.reads_source_in_engine:
        return settings.landing
    from leadops.sources.extract import extract_folder

    return extract_folder(settings, mapping)
