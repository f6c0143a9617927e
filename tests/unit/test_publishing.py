"""The published copy is written whole into a file of its own, or not at all."""

import duckdb
import pytest

from orchestration.publishing import PUBLISHED_TABLES, write_copy


def warehouse_with_marts(path, tables=PUBLISHED_TABLES) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create schema ops")
    con.execute("create table ops.runs as select 'r1' as run_id")
    for table in tables:
        con.execute(f"create table marts.{table} as select 'L1' as lead_id, 'warm' as segment")
    return con


def test_the_copy_holds_every_published_table_and_the_run_log(tmp_path):
    con = warehouse_with_marts(tmp_path / "warehouse.duckdb")
    partial = tmp_path / "published" / ".leadops.duckdb.run.partial"
    partial.parent.mkdir()

    counts, segments = write_copy(con, partial, partial.parent)

    assert counts == dict.fromkeys(PUBLISHED_TABLES, 1)
    assert segments == [("warm", 1)]
    with duckdb.connect(str(partial), read_only=True) as copy:
        assert copy.execute("select count(*) from marts.lead_scores").fetchone() == (1,)
        assert copy.execute("select run_id from ops.runs").fetchall() == [("r1",)]


def test_a_copy_that_fails_leaves_no_file_behind(tmp_path):
    con = warehouse_with_marts(tmp_path / "warehouse.duckdb", [t for t in PUBLISHED_TABLES if t != "account_rollup"])
    partial = tmp_path / "published" / ".leadops.duckdb.run.partial"
    partial.parent.mkdir()

    with pytest.raises(duckdb.CatalogException, match="account_rollup"):
        write_copy(con, partial, partial.parent)

    assert list(partial.parent.iterdir()) == []
    assert con.execute("select count(*) from duckdb_databases() where database_name = 'published'").fetchone() == (0,)
