"""Every setting of a deployment, read once into one typed object.

The command line, the Dagster definitions and their resources share one `Settings`: flags win,
then environment variables, then the defaults below, each written once. Nothing is passed on by
writing `os.environ`; the one process that needs variables, dbt, gets them from `dbt_environment()`
through the dbt resource.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA = PROJECT_ROOT / "data"
EMBEDDED_TARGET = "duckdb"
# --source-database spark: the sync's tables are in the Spark catalog the dbt target builds in, read
# there by the engine (leadops.sources.engine_sql), not extracted into DuckDB.
ENGINE_DATABASE = "spark"


def _env(name: str, help: str) -> dict[str, str]:
    return {"env": name, "help": help}


class SettingsError(ValueError):
    """A setting whose value cannot be used; names the variable and the value."""


@dataclass(frozen=True)
class Settings:
    landing: Path = field(
        default=DATA / "landing", metadata=_env("LEADOPS_LANDING", "landing folder, one subfolder per source")
    )
    warehouse: Path = field(default=DATA / "warehouse.duckdb", metadata=_env("LEADOPS_WAREHOUSE", "DuckDB file"))
    source: str = field(
        default="leadops",
        metadata=_env(
            "LEADOPS_SOURCE", "source mapping: leadops (the contract), a preset such as hubspot-export, or a file"
        ),
    )
    source_database: str | None = field(
        default=None,
        metadata=_env(
            "LEADOPS_SOURCE_DATABASE",
            "a database a sync fills (postgresql://user@host:port/db, duckdb:///file.duckdb; spark: the Spark "
            "target's own catalog); password: PGPASSWORD",
        ),
    )
    source_schema: str | None = field(
        default=None, metadata=_env("LEADOPS_SOURCE_SCHEMA", "its schema (default: the mapping's, e.g. hubspot)")
    )
    config: Path = field(default=PROJECT_ROOT / "scoring.yml", metadata=_env("LEADOPS_CONFIG", "scoring configuration"))
    lake: Path = field(
        default=DATA / "lake", metadata=_env("LEADOPS_LAKE", "Parquet lake that engines other than DuckDB read")
    )
    # Empty: `published/` beside the warehouse.
    published: Path | None = field(
        default=None, metadata=_env("LEADOPS_PUBLISHED", "published copy and exports (default: beside the warehouse)")
    )
    dbt_target: str = field(
        default=EMBEDDED_TARGET, metadata=_env("LEADOPS_DBT_TARGET", "dbt target: duckdb, spark or spark_thrift")
    )
    duckdb_memory_limit: str = field(
        default="2GB", metadata=_env("LEADOPS_DUCKDB_MEMORY_LIMIT", "memory limit of every DuckDB connection")
    )
    timezone: str = field(
        default="UTC", metadata=_env("LEADOPS_TIMEZONE", "time zone of the schedules and of today's date")
    )
    nightly_cron: str = field(default="0 2 * * *", metadata=_env("LEADOPS_NIGHTLY_CRON", "nightly refresh"))
    retrain_cron: str = field(default="0 4 * * 0", metadata=_env("LEADOPS_RETRAIN_CRON", "weekly retraining"))
    sensor_interval_seconds: int = field(
        default=60, metadata=_env("LEADOPS_SENSOR_INTERVAL_SECONDS", "how often the landing sensor looks")
    )
    landing_settle_seconds: float = field(
        default=30.0, metadata=_env("LEADOPS_LANDING_SETTLE_SECONDS", "how long a new file must stay unchanged")
    )
    retry_delay_seconds: float = field(
        default=5.0, metadata=_env("LEADOPS_RETRY_DELAY_SECONDS", "first wait before a transient step is retried")
    )

    sync_config: Path | None = field(
        default=None,
        metadata=_env("LEADOPS_SYNC_CONFIG", "CRM sync field mapping (default: leadops/sync/defaults.yml)"),
    )
    # Secrets: never in the repr, so never in a log line that prints the settings.
    hubspot_token: str | None = field(
        default=None, repr=False, metadata=_env("LEADOPS_HUBSPOT_TOKEN", "HubSpot private-app access token")
    )
    hubspot_base_url: str = field(
        default="https://api.hubapi.com", metadata=_env("LEADOPS_HUBSPOT_BASE_URL", "HubSpot API root")
    )
    salesforce_instance_url: str | None = field(
        default=None,
        metadata=_env("LEADOPS_SALESFORCE_INSTANCE_URL", "Salesforce instance, e.g. https://acme.my.salesforce.com"),
    )
    salesforce_access_token: str | None = field(
        default=None, repr=False, metadata=_env("LEADOPS_SALESFORCE_ACCESS_TOKEN", "Salesforce session or OAuth token")
    )
    salesforce_client_id: str | None = field(
        default=None, metadata=_env("LEADOPS_SALESFORCE_CLIENT_ID", "connected app consumer key (client credentials)")
    )
    salesforce_client_secret: str | None = field(
        default=None, repr=False, metadata=_env("LEADOPS_SALESFORCE_CLIENT_SECRET", "connected app consumer secret")
    )
    salesforce_api_version: str = field(
        default="62.0", metadata=_env("LEADOPS_SALESFORCE_API_VERSION", "Salesforce REST API version")
    )

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Flags (those not None), then `environ` (the process's by default), then the defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            if flags.get(spec.name) is not None:
                values[spec.name] = _parsed(spec, flags[spec.name], f"--{spec.name.replace('_', '-')}")
            elif environ.get(spec.metadata["env"]):
                values[spec.name] = _parsed(spec, environ[spec.metadata["env"]], spec.metadata["env"])
        unknown = set(flags) - {spec.name for spec in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"LEADOPS_TIMEZONE={self.timezone!r} is not a time zone: use a name like UTC or Europe/Berlin"
            ) from None

    @property
    def is_embedded(self) -> bool:
        """The models build in the DuckDB file itself (not on Spark), so everything downstream runs."""
        return self.dbt_target == EMBEDDED_TARGET

    @property
    def sync_destinations(self) -> tuple[str, ...]:
        """The CRMs whose credentials are set: each gets a sync asset after publishing."""
        salesforce = self.salesforce_instance_url and (
            self.salesforce_access_token or (self.salesforce_client_id and self.salesforce_client_secret)
        )
        return tuple(name for name, ready in (("hubspot", self.hubspot_token), ("salesforce", salesforce)) if ready)

    @property
    def published_folder(self) -> Path:
        return published_folder(self.warehouse, self.published)

    @property
    def reads_source_in_engine(self) -> bool:
        """The sync's tables are in the engine's own catalog: the engine translates them, DuckDB loads none."""
        return self.source_database == ENGINE_DATABASE

    @property
    def extract_folder(self) -> Path:
        """Where a database source's new rows are extracted to, as the landing folders its feeds read."""
        return self.warehouse.resolve().parent / "extract"

    def dbt_environment(self) -> dict[str, str]:
        """What the dbt process reads (profiles.yml): its target, its warehouse, its memory."""
        return {
            "LEADOPS_DBT_TARGET": self.dbt_target,
            "LEADOPS_WAREHOUSE": str(self.warehouse),
            "LEADOPS_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
        }


def published_folder(warehouse: str | Path, published: str | Path | None = None) -> Path:
    """Where readers find the published copy and the exports: `published` when set (the setting
    LEADOPS_PUBLISHED), else `published/` beside the warehouse (`data/published` by default)."""
    return Path(published) if published else Path(warehouse).resolve().parent / "published"


def _parsed(spec: dataclasses.Field, raw: Any, source: str) -> Any:
    kind = {"Path": Path, "Path | None": Path, "str": str, "str | None": str, "int": int, "float": float}[
        str(spec.type)
    ]
    if isinstance(raw, kind):
        return raw.resolve() if kind is Path else raw
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{source}={raw!r} is not a{'n' if kind is int else ''} {kind.__name__}") from None
    return value.resolve() if kind is Path else value


def documented() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of every setting, for the configuration docs and their test."""
    rows = []
    for spec in dataclasses.fields(Settings):
        default = spec.default
        shown = "" if default is None else str(default).replace(str(PROJECT_ROOT) + "/", "")
        rows.append((spec.metadata["env"], shown, spec.metadata["help"]))
    return rows
