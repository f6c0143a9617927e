"""Small DuckDB helpers every writer shares: quoting, one transaction, and whether a table exists."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Everything in the block is committed together or, on any exception, not at all."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        # A COMMIT that fails (a full disk) has already ended the transaction: the rollback's
        # "no transaction is active" would replace the cause.
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("rollback")
        raise


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str, catalog: str | None = None) -> bool:
    """Whether `schema.table` is a table of `catalog` (an attached database; default the current one)."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = coalesce(?, current_database()) "
            "and schema_name = ? and table_name = ?",
            [catalog, schema, table],
        ).fetchone()[0]
    )


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
