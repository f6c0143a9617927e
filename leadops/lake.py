"""The warehouse's raw and config tables as Parquet: the portable form other engines read.

Spark (and any engine dbt targets besides DuckDB) cannot open the DuckDB file, so the same raw
tables are exported to `<lake>/<schema>/<table>/data.parquet`, and dbt's on-run-start registers
them as external tables there. Each table is replaced whole, through a temporary folder, so a
reader never sees half an export.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from leadops.loader import quote_identifier, quote_literal

LAKE_SCHEMAS = ("raw", "config")


def export_lake(warehouse: Path, lake: Path) -> dict[str, int]:
    """Write every table of the raw and config schemas as Parquet; return rows per table."""
    lake.mkdir(parents=True, exist_ok=True)
    exported = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in LAKE_SCHEMAS)}) and table_type = 'BASE TABLE' "
            "order by 1, 2",
            list(LAKE_SCHEMAS),
        ).fetchall()
        for schema, table in tables:
            target = lake / schema / table
            staging = lake / schema / f".{table}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            con.execute(
                f"copy (select * from {relation}) to {quote_literal(str(staging / 'data.parquet'))} (format parquet)"
            )
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
            exported[f"{schema}.{table}"] = con.execute(f"select count(*) from {relation}").fetchone()[0]
    return exported
