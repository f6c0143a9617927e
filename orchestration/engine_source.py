"""A sync's tables in the Spark catalog (`--source-database spark`), read there by the engine.

No ingest asset runs and nothing is loaded into DuckDB: each table the source mapping reads is an
asset at the start of the lineage (`landing/contact`, kind spark), and the raw tables are written
by Spark itself, in the on-run-start of the dbt build (macros/engine_source.sql), from the
statements leadops renders for the mapping (leadops.sources.engine_sql and engine_rules) after
asking Spark for the tables' columns with a dbt run-operation.
"""

import json
from pathlib import Path

import dagster as dg

from leadops.contract import SOURCES
from leadops.settings import Settings
from leadops.sources.engine_rules import engine_statements
from leadops.sources.engine_sql import SPARK, engine_schema, source_tables
from leadops.sources.mapping import SourceMapping, load_mapping
from orchestration.ingest import landing_key

COLUMNS_LOG = "leadops-columns "
STATEMENTS_FILE = "statements.jsonl"


class EngineSourceError(RuntimeError):
    """The engine could not say what the sync's tables are."""


def engine_source_specs(settings: Settings, mapping: SourceMapping) -> list[dg.AssetSpec]:
    """The sync's tables, and the raw tables Spark writes from them, as the start of the lineage."""
    if settings.is_embedded:
        raise ValueError("--source-database spark reads a sync's tables in the Spark catalog: use a Spark dbt target")
    schema = engine_schema(settings.source_schema, mapping)
    specs = [
        dg.AssetSpec(
            key=landing_key(table),
            description=(
                f"`{schema}.{table}` in the Spark catalog, as the sync wrote it: read there by the engine "
                f"through the source mapping `{mapping.name}` (nothing is loaded into DuckDB)."
            ),
            group_name="ingest",
            kinds={"spark"},
            owners=["team:data-engineering"],
        )
        for table in source_tables(mapping)
    ]
    for name in SOURCES:
        feeds = mapping.feeds_into(name)
        tables = dict.fromkeys(f for feed in feeds for f in (feed.folder, *feed.lookup_folders))
        specs.append(
            dg.AssetSpec(
                key=dg.AssetKey(["raw", name]),
                deps=[landing_key(table) for table in tables],
                description=(
                    f"`raw.{name}` on Spark, rewritten on every dbt build (its on-run-start) from "
                    f"{', '.join(f'`{schema}.{t}`' for t in tables) or 'no table'}: each row loaded, "
                    "quarantined in raw.quarantine with its reason, or skipped and counted in raw.source_rows."
                ),
                group_name="ingest",
                kinds={"spark", "sql"},
                owners=["team:data-engineering"],
            )
        )
    return specs


def statements_file(lake: Path) -> Path:
    return (lake / "engine_source" / STATEMENTS_FILE).resolve()


def prepare_engine_source(
    dbt, source: str, schema: str, path: Path, target_path: Path, variables: dict[str, str]
) -> list[str]:
    """Ask the engine for the sync's tables, render the mapping's statements for them and write
    them to `path` for the build's on-run-start; return what the run says of them. The build's vars
    are passed on, so that the build reuses this invocation's parse of the project."""
    mapping = load_mapping(source)
    arguments = json.dumps({"schema": schema, "tables": list(source_tables(mapping))})
    invocation = dbt.cli(
        ["run-operation", "leadops.describe_source_tables", "--args", arguments, "--vars", json.dumps(variables)],
        target_path=target_path,
        raise_on_error=False,
    )
    columns = None
    for event in invocation.stream_raw_events():
        message = event.raw_event.get("info", {}).get("msg", "")
        if isinstance(message, str) and message.startswith(COLUMNS_LOG):
            columns = json.loads(message.removeprefix(COLUMNS_LOG))
    if not invocation.is_successful() or columns is None:
        raise EngineSourceError(f"Spark could not describe the tables of the schema {schema}: see the dbt log")
    if not columns:
        raise EngineSourceError(f"the schema {schema} of the Spark catalog has none of the tables {mapping.name} reads")
    rendered = engine_statements(mapping, SPARK, schema, {t: [tuple(c) for c in cs] for t, cs in columns.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(
        "".join(json.dumps({"n": n, "sql": sql}) + "\n" for n, sql in enumerate(rendered.statements)),
        encoding="utf-8",
    )
    partial.replace(path)
    return [f"read on Spark: {', '.join(rendered.feeds)}", *rendered.notes]
