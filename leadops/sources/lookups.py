"""Other landing folders a feed reads whole: its lookups' and the mapping's merged ids, each read
into a small temporary table that the translation joins (`leadops.sources.translate`).

A folder is every file in it, CSV and Parquet alike (a user's exports, or the rows a database reader
extracted from a sync, one file per run), so a value delivered in any earlier file is found. A
lookup keeps one row per value looked for, so a join never multiplies the file's rows: when several
rows match, the lowest value is taken and the run's output counts those rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from leadops.contract import FILE_SUFFIXES
from leadops.headers import normalised_name
from leadops.sources.mapping import Feed, MergedIds
from leadops.sources.translate import MERGED_IDS, LookupTable, Translation, lookup_key
from leadops.sql import quote_identifier, quote_literal

MAX_MERGE_STEPS = 10  # a chain of merges longer than this is a loop in the CRM's data, not a history


class LookupUnavailable(Exception):
    """A folder the feed reads whole cannot give what the feed needs; the file is rejected, and a
    later run loads it (a rejected file is tried again on every run)."""


class ColumnUnavailable(LookupUnavailable):
    """The folder's files lack a column the feed reads in them."""


def prepare(con: duckdb.DuckDBPyConnection, landing: Path, feed: Feed, plan: Translation) -> list[str]:
    """Read the plan's lookup tables and merged ids; return what the run's output says of them."""
    notes = []
    for table in plan.lookup_tables:
        notes += _read_lookup(con, landing, table)
    if plan.merges:
        notes += _read_merged_ids(con, landing, feed.merged_ids)
    return notes


def _read_lookup(con: duckdb.DuckDBPyConnection, landing: Path, table: LookupTable) -> list[str]:
    step = table.step
    rows = folder_rows(con, landing / step.folder, [step.match, step.take], f"the lookup of {table.target}")
    notes = []
    if rows is None:
        if table.is_needed:
            raise LookupUnavailable(
                f"{table.target} is looked up in {step.folder}/, which has no files yet: "
                "the file loads on a later run, once it has"
            )
        rows = "select null::varchar as c0, null::varchar as c1 where false"
        notes.append(f"{step.folder}/ has no files: {table.target} is empty")
    con.execute(
        f"create or replace temp table {table.name} as "
        f"select key, min(value) as value, count(distinct value) as candidates from ("
        f"select {lookup_key('c0', step.ignore_case)} as key, nullif(trim(c1), '') as value from ({rows})"
        ") where key is not null and key <> '' and value is not null group by key"
    )
    return notes


def _read_merged_ids(con: duckdb.DuckDBPyConnection, landing: Path, sources: list[MergedIds]) -> list[str]:
    """`_merged_ids`: each id merged into another, with the id it ended up in after every merge
    (a contact merged into one that was merged again counts for the last). When the sources
    disagree on an id, the first source listed wins, then the lowest id."""
    pairs, notes = [], []
    for rank, merged in enumerate(sources):
        try:
            rows = folder_rows(con, landing / merged.folder, [merged.id, merged.merged_into], "merged_ids")
        except ColumnUnavailable as missing:  # merges refine identities: without them each record is its own
            notes.append(f"no merged ids from {merged.folder}/: {missing}")
            continue
        if rows is None:
            continue
        ids = f"unnest(string_split(c0, {quote_literal(merged.split)}))" if merged.split else "c0"
        pairs.append(f"select trim({ids}) as id, trim(c1) as merged_into, {rank} as rank from ({rows})")
    union = " union all ".join(pairs) or "select null::varchar as id, null::varchar as merged_into, 0 as rank"
    con.execute(
        f"""
        create or replace temp table {MERGED_IDS} as
        with recursive direct as (
            select id, first(merged_into order by rank, merged_into) as merged_into
            from ({union})
            where id <> '' and merged_into <> '' and id <> merged_into
            group by id
        ),
        chain(id, merged_into, depth) as (
            select id, merged_into, 1 from direct
            union all
            select chain.id, direct.merged_into, chain.depth + 1
            from chain inner join direct on direct.id = chain.merged_into
            where chain.depth < {MAX_MERGE_STEPS} and direct.merged_into <> chain.id
        )
        select id, arg_max(merged_into, depth) as merged_into from chain group by id
        """
    )
    return notes


def folder_rows(con: duckdb.DuckDBPyConnection, folder: Path, columns: list[str], reader: str) -> str | None:
    """SQL of every row of the folder's files with `columns` as text (`c0`, `c1`, ...), each named
    as written or normalised; None when the folder has no files."""
    files = sorted(
        path
        for path in (folder.rglob("*") if folder.is_dir() else [])
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in FILE_SUFFIXES
        and path.stat().st_size > 0
    )
    if not files:
        return None
    selects = []
    for suffix, reader_function in ((".csv", "read_csv"), (".parquet", "read_parquet")):
        chosen = [quote_literal(str(path)) for path in files if path.suffix.lower() == suffix]
        if not chosen:
            continue
        options = ", header = true, all_varchar = true" if suffix == ".csv" else ""
        relation = f"{reader_function}([{', '.join(chosen)}]{options}, union_by_name = true)"
        try:
            names = [name for (name, *_) in con.execute(f"describe select * from {relation}").fetchall()]
        except duckdb.Error as error:
            problem = str(error).strip().splitlines()[0]
            raise LookupUnavailable(
                f"{reader} reads {folder.name}/, whose {suffix} files cannot be read: {problem}"
            ) from None
        picked = [_column(names, column, folder.name, reader) for column in columns]
        listed = ", ".join(
            f"cast({quote_identifier(name)} as varchar) as c{index}" for index, name in enumerate(picked)
        )
        selects.append(f"select {listed} from {relation}")
    return " union all ".join(selects)


def _column(names: list[str], column: str, folder: str, reader: str) -> str:
    # A name as written first, then as normalised (the first column that normalises to it).
    by_name = {normalised_name(name): name for name in reversed(names)} | {name: name for name in names}
    found = by_name.get(column) or by_name.get(normalised_name(column))
    if found is None:
        raise ColumnUnavailable(f"{reader} reads '{column}' in {folder}/, whose files do not have it")
    return found


def drop_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a file's lookup tables once it is loaded: a lookup of a large folder holds memory."""
    names = con.execute(
        "select table_name from duckdb_tables() where temporary "
        f"and (starts_with(table_name, '_lookup_') or table_name = {quote_literal(MERGED_IDS)})"
    ).fetchall()
    for (name,) in names:
        con.execute(f"drop table {quote_identifier(name)}")
