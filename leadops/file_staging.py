"""Stage one landing file in DuckDB as `_batch`: its rows numbered by position and by the line each
starts on, its columns by the contract column or custom field each becomes. A file that cannot be
read is rejected here with its line and the problem, in words a user fixes the file by."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import duckdb

from leadops.contract import FILE_SUFFIXES, Source
from leadops.headers import MAX_LINE_BYTES, HeaderProblem, plan_columns, read_csv_header, unique_labels
from leadops.sources import lookups
from leadops.sources.mapping import Feed
from leadops.sources.translate import HIDDEN_PREFIX, STAGED, WHY_MISSING, MissingColumn, Translation, translation
from leadops.sql import quote_identifier, quote_literal


class FileRejected(Exception):
    """A file that cannot be loaded at all; nothing of it is kept."""

    def __init__(self, path: Path, line: int | None, problem: str):
        self.path, self.line, self.problem = path, line, problem
        where = f", line {line}" if line else ""
        super().__init__(f"{path}{where}: {problem}")


ROW_ID = f"{HIDDEN_PREFIX}row_id"  # a staged row's position in its file, from 0; reserved in landing files
LINE = f"{HIDDEN_PREFIX}line"  # the line a CSV row starts on, when a quoted value spans lines; reserved too
TRANSLATED = "_batch_translated"  # a mapped file's translation, when it joins other folders


class StagedFile(NamedTuple):
    header_lines: int
    found: dict[str, tuple[str, str]]  # contract column or custom field -> name as staged, type
    line_sql: str  # each row's line number in the file
    notes: list[str]  # for the run's output
    why_missing: dict[str, str]  # a required column -> the staged column saying why its lookup found nothing
    rows_skipped: int  # rows of the file a source mapping's feed left out, each counted in `notes`


def read_into_batch(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    line_breaks: int,
    feed: Feed | None = None,
    landing: Path | None = None,
) -> StagedFile:
    """Stage the file as `_batch`, each row with its position in the file as ROW_ID.

    A feed of a source mapping (`leadops.sources`) renames and reformats the CRM's columns first,
    looking values up in the other folders of `landing`: the file is staged as `_batch_crm` and
    `_batch` is its translation.

    A CSV file is read into a temporary table, all text, with the dialect and columns of the header
    read first (see `leadops.headers`). A Parquet file, already typed, is a view over the file: its
    rows are read once, by the validation, instead of being copied first (1.5 s per 10M events); one
    with a column named like the reader's own `file_row_number` is copied."""
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise FileRejected(path, None, f"unknown format '{suffix or path.name}': use one of {FILE_SUFFIXES}")
    if path.stat().st_size == 0:
        raise FileRejected(path, None, "the file is empty (0 bytes)")
    literal = quote_literal(str(path))
    try:
        mapped = feed is not None and not feed.is_identity
        header_lines, labels = _csv_labels(path, source, mapped) if suffix == ".csv" else (0, None)
        if suffix == ".parquet" and not {"file_row_number", ROW_ID} & _parquet_columns(con, literal):
            con.execute(
                "create or replace temp view _batch as select * exclude (file_row_number), "
                f"file_row_number as {ROW_ID} from read_parquet({literal}, file_row_number = true)"
            )
        else:  # a CSV file, or a Parquet file with a column named like the reader's row number
            con.execute(f"create or replace temp table _batch_rows as select * from {_reader_sql(literal, labels)}")
            staged = con.execute("select column_name from (describe _batch_rows)").fetchall()
            reserved = {ROW_ID, LINE} & {name.lower() for (name,) in staged}
            if reserved:
                raise FileRejected(
                    path, header_lines or None, f"the column {reserved.pop()} is reserved by leadops: rename it"
                )
            con.execute(f"create or replace temp view _batch as {STAGED_ROWS}")
        described = con.execute("select column_name, column_type from (describe _batch)").fetchall()
        line_sql = f"_batch.{ROW_ID} + 1 + {header_lines}"
        if suffix == ".csv":
            (rows,) = con.execute("select count(*) from _batch_rows").fetchone()
            if line_breaks > rows + header_lines:  # a quoted value spans lines
                line_sql = _number_lines_spanned(con, described, header_lines)
        # Without a landing folder given, the file is taken to lie directly in its feed's folder.
        notes, skipped = (
            _translate(con, feed, described, header_lines, landing or path.parent.parent) if mapped else ([], 0)
        )
        if mapped:
            described = con.execute("select column_name, column_type from (describe _batch)").fetchall()
        found = _columns(described, source)
    except HeaderProblem as problem:
        raise FileRejected(path, problem.line, problem.problem) from None
    except duckdb.Error as error:
        raise FileRejected(path, line_of(str(error)), _reader_problem(str(error))) from None
    why_missing = {name.removeprefix(WHY_MISSING): name for name, _ in described if name.startswith(WHY_MISSING)}
    return StagedFile(header_lines, found, line_sql, notes, why_missing, skipped)


def _translate(
    con: duckdb.DuckDBPyConnection, feed: Feed, described: list[tuple[str, str]], header_lines: int, landing: Path
) -> tuple[list[str], int]:
    """Replace `_batch` with the feed's translation of it; say how many rows it skipped, and why."""
    staged = [(name, native_type) for name, native_type in described if not name.startswith(HIDDEN_PREFIX)]
    try:
        plan = translation(feed, staged)
        notes = lookups.prepare(con, landing, feed, plan)
    except MissingColumn as missing:
        raise HeaderProblem(header_lines or 1, f"{missing} (source mapping feed {feed.label})") from None
    except lookups.LookupUnavailable as unavailable:
        raise HeaderProblem(None, f"{unavailable} (source mapping feed {feed.label})") from None
    carried = ", ".join(f"{STAGED}.{quote_identifier(name)}" for name, _ in described if name in (ROW_ID, LINE))
    con.execute(f"alter view _batch rename to {STAGED}")
    where = f" where {plan.where}" if plan.where else ""
    translated = f"select {carried}, {plan.select} from {plan.source}{where}"
    if plan.lookup_tables or plan.merges:
        # Joined once: the batch is read several times (validation, quarantine, custom fields), and a
        # view would join again each time (14.6 s instead of 0.2 s for the custom fields of 372 columns).
        con.execute(f"create temp table {TRANSLATED} as {translated}")
        translated = f"select * from {TRANSLATED}"
    con.execute(f"create temp view _batch as {translated}")
    counted, skipped = _counted(con, plan)
    return notes + plan.notes + counted, skipped


def _counted(con: duckdb.DuckDBPyConnection, plan: Translation) -> tuple[list[str], int]:
    """How many rows each skip left out (a row counts for the first that holds), and how many kept
    rows each of the plan's other counts holds for (several matches, merged ids); the rows skipped."""
    if not plan.skips and not plan.counted:
        return [], 0
    earlier, counts = "true", []
    for condition, _ in plan.skips:
        counts.append(f"count(*) filter (where {earlier} and {condition})")
        earlier = f"{earlier} and not {condition}"
    counts += [f"count(*) filter (where {earlier} and coalesce({condition}, false))" for condition, _ in plan.counted]
    total, *found = con.execute(f"select count(*), {', '.join(counts)} from {plan.source}").fetchone()
    skips = found[: len(plan.skips)]
    skipped = [f"{n} of {total} row(s) {text}" for n, (_, text) in zip(skips, plan.skips, strict=True) if n]
    counted = [f"{n} {text}" for n, (_, text) in zip(found[len(plan.skips) :], plan.counted, strict=True) if n]
    return skipped + counted, sum(skips)


def _csv_labels(path: Path, source: Source, mapped: bool = False) -> tuple[int, tuple[str, tuple[str, ...]]]:
    """The CSV header's lines, and its delimiter with the (unique) column labels DuckDB reads. A
    mapped file's labels are the CRM's: which is which contract column is the mapping's to say."""
    header = read_csv_header(path)
    labels = unique_labels(plan_columns(header.names, () if mapped else source.column_names))
    reserved = {ROW_ID, LINE} & {label.lower() for label in labels}
    if reserved:
        raise HeaderProblem(header.lines, f"the column {reserved.pop()} is reserved by leadops: rename it")
    return header.lines, (header.delimiter, tuple(labels))


def _reader_sql(literal: str, labels: tuple[str, tuple[str, ...]] | None) -> str:
    if labels is None:
        return f"read_parquet({literal})"
    delimiter, names = labels
    columns = ", ".join(f"{quote_literal(name)}: 'VARCHAR'" for name in names)
    return (
        f"read_csv({literal}, header = true, auto_detect = false, delim = {quote_literal(delimiter)}, "
        f"quote = '\"', escape = '\"', columns = {{{columns}}}, encoding = 'utf-8', strict_mode = true, "
        f"max_line_size = {MAX_LINE_BYTES})"
    )


# A copied file's rows with their position in it: row ids of a table created inside a transaction
# start at an offset, and subtracting the first gives each row's position.
STAGED_ROWS = f"select *, rowid - (select min(rowid) from _batch_rows) as {ROW_ID} from _batch_rows"


def _columns(described: list[tuple[str, str]], source: Source) -> dict[str, tuple[str, str]]:
    """The staged columns by the contract column or custom field each becomes (`leadops.headers`)."""
    staged = [(name, native_type) for name, native_type in described if not name.startswith(HIDDEN_PREFIX)]
    plan = plan_columns([name for name, _ in staged], source.column_names)
    return {key: staged_column for (key, _), staged_column in zip(plan, staged, strict=True)}


def _number_lines_spanned(con: duckdb.DuckDBPyConnection, described: list[tuple[str, str]], header_lines: int) -> str:
    """A quoted value spans lines (an address, a note from the CRM): number each staged row by the
    line it starts on, as an editor shows it, so that a reason points at the right line. Only for
    files with more line breaks than rows, so other files pay nothing."""
    breaks = " + ".join(
        f"coalesce(length({quote_identifier(name)}) - length(replace({quote_identifier(name)}, chr(10), '')), 0)"
        for name, _ in described
        if name != ROW_ID
    )
    con.execute(
        f"create or replace temp table _batch_lines as select {ROW_ID}, {header_lines} + 1 + {ROW_ID} + coalesce("
        f"sum({breaks}) over (order by {ROW_ID} rows between unbounded preceding and 1 preceding), 0) as {LINE} "
        "from _batch"
    )
    con.execute(
        f"create or replace temp view _batch as select _staged.*, _batch_lines.{LINE} "
        f"from ({STAGED_ROWS}) as _staged inner join _batch_lines using ({ROW_ID})"
    )
    return f"_batch.{LINE}"


def _parquet_columns(con: duckdb.DuckDBPyConnection, literal: str) -> set[str]:
    """The column names of a Parquet file, from its footer."""
    return {name.lower() for (name,) in con.execute(f"select name from parquet_schema({literal})").fetchall()}


def line_of(message: str) -> int | None:
    match = re.search(r"[Ll]ine:? (\d+)", message)
    return int(match.group(1)) if match else None


def _reader_problem(message: str) -> str:
    """DuckDB's reader error as the problem a user fixes in the file: which line, and what is wrong."""
    line = line_of(message)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if fields and line:
        expected, found = fields.groups()
        return f"the line has {found} field(s) where the header has {expected}"
    size = re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", message)
    if size and line:
        limit, actual = (int(n) for n in size.groups())
        return f"the line is {actual:,} bytes long (at most {limit:,})"
    return first_line(message)


def first_line(message: str) -> str:
    """The sentence of a DuckDB reader error that says what is wrong, without its advice."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    body = []
    for line in lines:
        if line.startswith(("Possible Solution", "file =", "LINE ")):
            break
        if not line.startswith(("Original Line", "CSV Error on Line")) and "Error on Line" not in line:
            body.append(line)
    text = " ".join(body) or (lines[0] if lines else "the file could not be read")
    return re.sub(r"^[A-Za-z ]*Error: ", "", text)
