"""Read the tables a sync tool keeps in a database, incrementally, into landing folders.

A data team's CRM data is often already in its warehouse, in the schema its sync writes (Fivetran's
`hubspot`, `salesforce`). leadops reads it there: each run extracts the rows of each table the
source mapping names that the sync changed since the last run (by the sync's cursor column, such as
`_fivetran_synced`) into `<extract folder>/<table>/` as Parquet files, and the mapping's feeds load
those files like any landing file (hashed, so a file is never loaded twice; row rules; gates).

dlt does the incremental part: its pipeline keeps each table's cursor with the files it wrote, so a
run that fails before its files are complete does not move the cursor, and the rows come again.
PostgreSQL is read with dlt's `sql_database` source (SQLAlchemy and psycopg); a DuckDB file, which
SQLAlchemy cannot reflect here, is attached read-only and read in Arrow batches by a dlt resource
of our own. DuckDB's postgres extension is not used: it cannot be installed offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from leadops.settings import Settings
from leadops.sources.mapping import SourceMapping
from leadops.sql import quote_identifier, quote_literal

BATCH_ROWS = 100_000
PIPELINE = "leadops_extract"
SUPPORTED = ("postgresql", "postgres", "duckdb")


class SourceDatabaseError(ValueError):
    """A database URL, schema or table that cannot be read; names which."""


@dataclass(frozen=True)
class SourceDatabase:
    url: str
    schema: str
    tables: tuple[str, ...]
    cursor: str

    def __post_init__(self) -> None:
        if urlsplit(self.url).scheme.split("+")[0] not in SUPPORTED:
            raise SourceDatabaseError(
                f"--source-database {redacted(self.url)}: use postgresql://user@host:port/db or duckdb:///path/file.duckdb"
            )

    @property
    def kind(self) -> str:
        return "duckdb" if self.url.startswith("duckdb:") else "postgresql"

    @property
    def duckdb_path(self) -> Path:
        return Path(self.url.removeprefix("duckdb:///"))


@dataclass
class ExtractReport:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows extracted by this run
    files: dict[str, list[str]] = field(default_factory=dict)  # table -> new files, relative to the folder


class MappingWithoutDatabase(ValueError):
    """--source-database was given with a mapping that does not say how its tables are read."""


def source_database(settings: Settings, mapping: SourceMapping) -> SourceDatabase:
    """The database the settings name, read as the mapping says (schema, cursor, its tables)."""
    if mapping.database is None:
        raise MappingWithoutDatabase(
            f"the source mapping {mapping.name} reads files, not a database: give a mapping with a "
            "`database: {schema: ..., cursor: ...}` entry (such as fivetran-hubspot), or no --source-database"
        )
    return SourceDatabase(
        url=settings.source_database,
        schema=settings.source_schema or mapping.database.schema_,
        tables=(*mapping.folders, *mapping.lookup_folders),  # lookups read their folders whole
        cursor=mapping.database.cursor,
    )


def extract_folder(settings: Settings, mapping: SourceMapping) -> Path:
    """Where the mapping's tables are extracted to: one folder per table, as its feeds read them.
    Named as dlt names a dataset (snake case), since dlt writes the files there."""
    return settings.extract_folder / re.sub(r"[^a-z0-9_]", "_", mapping.name.lower())


def redacted(url: str) -> str:
    """The URL without a password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def extract(database: SourceDatabase, folder: Path, state: Path) -> ExtractReport:
    """Extract each table's rows changed since the last run into `folder/<table>/`."""
    import dlt

    # dlt reports usage to dlthub by default; a lead pipeline sends nothing anywhere unasked.
    dlt.config["runtime.dlthub_telemetry"] = False
    _check_names(database)
    before = _files(folder, database.tables)
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE,
        pipelines_dir=str(state),
        destination=dlt.destinations.filesystem(
            bucket_url=folder.parent.resolve().as_uri(), layout="{table_name}/{load_id}.{file_id}.{ext}"
        ),
        dataset_name=folder.name,
    )
    source = _postgresql(database) if database.kind == "postgresql" else _duckdb(database)
    try:
        pipeline.run(source, loader_file_format="parquet")
    except Exception as error:  # dlt wraps the driver's error in its own pipeline errors
        raise SourceDatabaseError(f"reading {redacted(database.url)} failed: {_cause(error)}") from error
    report = ExtractReport()
    after = _files(folder, database.tables)
    for table in database.tables:
        new = sorted(after[table] - before[table])
        report.files[table] = new
        report.rows[table] = _row_count(folder, new)
    return report


def _check_names(database: SourceDatabase) -> None:
    for name in (database.schema, database.cursor, *database.tables):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise SourceDatabaseError(f"'{name}' is not a table, schema or column name")


def _postgresql(database: SourceDatabase):
    import dlt
    from dlt.sources.sql_database import sql_database

    source = sql_database(
        database.url,
        schema=database.schema,
        table_names=list(database.tables),
        backend="pyarrow",
        chunk_size=BATCH_ROWS,
    )
    for table in database.tables:
        getattr(source, table).apply_hints(incremental=dlt.sources.incremental(database.cursor))
    return source


def _duckdb(database: SourceDatabase):
    import dlt
    import duckdb

    path = database.duckdb_path
    if not path.is_file():
        raise SourceDatabaseError(f"--source-database {database.url}: {path} is not a DuckDB file")

    # dlt's idiom: the incremental cursor is a default argument, which dlt binds to the table's state.
    def table_rows(table: str, cursor=dlt.sources.incremental(database.cursor)) -> Iterator:  # noqa: B008
        # Attached read-only: the sync tool may be writing its own file meanwhile.
        with duckdb.connect() as con:
            con.execute(f"attach {quote_literal(str(path))} as sync (read_only)")
            relation = f"sync.{quote_identifier(database.schema)}.{quote_identifier(table)}"
            where, parameters = "", []
            if cursor.last_value is not None:  # dlt drops the rows at the boundary it has seen
                where, parameters = f" where {quote_identifier(database.cursor)} >= ?", [cursor.last_value]
            yield from con.sql(f"select * from {relation}{where}", params=parameters).to_arrow_reader(BATCH_ROWS)

    return [dlt.resource(table_rows, name=table, write_disposition="append")(table) for table in database.tables]


def _files(folder: Path, tables: tuple[str, ...]) -> dict[str, set[str]]:
    return {
        table: {str(p.relative_to(folder)) for p in (folder / table).glob("*.parquet")}
        if (folder / table).is_dir()
        else set()
        for table in tables
    }


def _row_count(folder: Path, files: list[str]) -> int:
    if not files:
        return 0
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(folder / name).metadata.num_rows for name in files)


def _cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    return str(error).splitlines()[0] if str(error) else type(error).__name__
