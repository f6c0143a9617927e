"""The published copy is put in place whole or not at all, and each copy reads the history slices it
was made with: a reader of one copy never sees the slices a later refresh writes."""

from datetime import date

import duckdb
import pytest

from orchestration.publishing import HISTORY_TABLES, PUBLISHED_TABLES, history_folder, publish

JUNE_29, JUNE_30 = date(2026, 6, 29), date(2026, 6, 30)


def warehouse_with_marts(path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create schema ops")
    con.execute("create table ops.runs as select 'r1' as run_id")
    for table in PUBLISHED_TABLES:
        if table not in HISTORY_TABLES:
            con.execute(f"create table marts.{table} as select 'L1' as lead_id, 'warm' as segment")
    # Publishing makes each lead's top reasons from the factor rows, so these have their columns.
    con.execute(
        "create or replace table marts.lead_score_factors as select 'L1' as lead_id, 'fit' as factor, 5.0 as points"
    )
    for table in HISTORY_TABLES:
        con.execute(f"create table marts.{table} (lead_id varchar, score integer, as_of_date date)")
    return con


def score_history(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select as_of_date::varchar, score from marts.lead_score_history order by all").fetchall()


def slice_files(published) -> list[str]:
    folder = history_folder(published, "lead_score_history")
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*.parquet"))


def test_each_copy_reads_the_slices_it_was_made_with(tmp_path):
    con = warehouse_with_marts(tmp_path / "warehouse.duckdb")
    target = tmp_path / "published" / "leadops.duckdb"
    target.parent.mkdir()
    con.execute("insert into marts.lead_score_history values ('L1', 10, ?)", [JUNE_29])

    counts, segments, _ = publish(con, target, JUNE_29, "run1")
    assert counts["lead_score_history"] == 1 and counts["lead_scores"] == 1 and segments == [("warm", 1)]
    reader = duckdb.connect(str(target), read_only=True)  # a reader that keeps the first copy open

    con.execute("insert into marts.lead_score_history values ('L1', 20, ?)", [JUNE_30])
    publish(con, target, JUNE_30, "run2")
    con.execute("update marts.lead_score_history set score = 25 where as_of_date = ?", [JUNE_30])
    publish(con, target, JUNE_30, "run3")  # the same date again: a new file, not the old one rewritten

    assert score_history(reader) == [("2026-06-29", 10)]
    reader.close()  # DuckDB shares one open file per path within a process: the next connect opens the new copy
    with duckdb.connect(str(target), read_only=True) as latest:
        assert score_history(latest) == [("2026-06-29", 10), ("2026-06-30", 25)]
        assert latest.execute("select run_id from ops.runs").fetchall() == [("r1",)]
    # Kept: what the latest copy and the one it replaced read; run2's slice goes with the next copy.
    assert slice_files(target.parent) == [
        "2026-06-29/run1.parquet",
        "2026-06-30/run2.parquet",
        "2026-06-30/run3.parquet",
    ]
    publish(con, target, JUNE_30, "run4")
    assert slice_files(target.parent) == [
        "2026-06-29/run1.parquet",
        "2026-06-30/run3.parquet",
        "2026-06-30/run4.parquet",
    ]
    reader.close()


def test_a_copy_that_fails_leaves_the_previous_one_and_nothing_else(tmp_path):
    con = warehouse_with_marts(tmp_path / "warehouse.duckdb")
    target = tmp_path / "published" / "leadops.duckdb"
    target.parent.mkdir()
    con.execute("insert into marts.lead_score_history values ('L1', 10, ?)", [JUNE_29])
    publish(con, target, JUNE_29, "run1")
    before = sorted(path.name for path in target.parent.iterdir())

    con.execute("insert into marts.lead_score_history values ('L1', 20, ?)", [JUNE_30])
    con.execute("drop table marts.account_rollup")
    with pytest.raises(duckdb.CatalogException, match="account_rollup"):
        publish(con, target, JUNE_30, "run2")

    assert sorted(path.name for path in target.parent.iterdir()) == before  # no partial copy, no WAL
    assert slice_files(target.parent) == ["2026-06-29/run1.parquet"]
    assert con.execute("select count(*) from duckdb_databases() where database_name = 'published'").fetchone() == (0,)
    with duckdb.connect(str(target), read_only=True) as previous:
        assert score_history(previous) == [("2026-06-29", 10)]


def test_a_copy_made_before_copies_listed_their_slices_is_followed_on(tmp_path):
    """An older leadops wrote `<date>.parquet` and read the whole folder: its slices carry over."""
    con = warehouse_with_marts(tmp_path / "warehouse.duckdb")
    target = tmp_path / "published" / "leadops.duckdb"
    folder = history_folder(target.parent, "lead_score_history")
    folder.mkdir(parents=True)
    con.execute("insert into marts.lead_score_history values ('L1', 10, ?)", [JUNE_29])
    con.execute(f"copy (select * from marts.lead_score_history) to '{folder / '2026-06-29.parquet'}' (format parquet)")
    duckdb.connect(str(target)).close()  # the old copy, without ops.history_files

    con.execute("insert into marts.lead_score_history values ('L1', 20, ?)", [JUNE_30])
    _, _, history = publish(con, target, JUNE_30, "run1")

    assert history["lead_score_history"].written == ["2026-06-30"]
    with duckdb.connect(str(target), read_only=True) as copy:
        assert score_history(copy) == [("2026-06-29", 10), ("2026-06-30", 20)]


def test_partial_copies_that_killed_publications_left_are_removed(tmp_path):
    con = warehouse_with_marts(tmp_path / "warehouse.duckdb")
    target = tmp_path / "published" / "leadops.duckdb"
    target.parent.mkdir()
    killed = target.with_name(".leadops.duckdb.killed-run.partial")
    half = duckdb.connect(str(killed))  # a copy cut short: a file and its WAL
    half.execute("create table t as select * from range(1000)")
    killed.with_name(f"{killed.name}.wal").write_bytes(b"\0" * 4096)
    half.close()
    killed.with_name(f"{killed.name}.wal").write_bytes(b"\0" * 4096)

    publish(con, target, JUNE_29, "run1")

    assert sorted(path.name for path in target.parent.iterdir() if path.is_file()) == ["leadops.duckdb"]
