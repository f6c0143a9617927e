"""Stage one landing file in DuckDB as `_batch`: its rows numbered by position and by the line each
starts on, its columns by the contract column or custom field each becomes. A file that cannot be
read is rejected here with its line and the problem, in words a user fixes the file by."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from leadops.contract import FILE_SUFFIXES, Source
from leadops.headers import MAX_LINE_BYTES, HeaderProblem, plan_columns, read_csv_header, unique_labels
from leadops.sources.mapping import Feed
from leadops.sources.translate import MissingColumn, translation
from leadops.sql import quote_identifier, quote_literal


class FileRejected(Exception):
    """A file that cannot be loaded at all; nothing of it is kept."""

    def __init__(self, path: Path, line: int | None, problem: str):
        self.path, self.line, self.problem = path, line, problem
        where = f", line {line}" if line else ""
        super().__init__(f"{path}{where}: {problem}")


ROW_ID = "_leadops_row_id"  # a staged row's position in its file, from 0; reserved in landing files
LINE = "_leadops_line"  # the line a CSV row starts on, when a quoted value spans lines; reserved too


def read_into_batch(
    con: duckdb.DuckDBPyConnection, source: Source, path: Path, line_breaks: int, feed: Feed | None = None
) -> tuple[int, dict[str, tuple[str, str]], str, list[str]]:
    """Stage the file as `_batch`, each row with its position in the file as ROW_ID; return the
    number of header lines, the file's columns (contract column or custom field -> name as staged,
    type), the SQL of each row's line number in the file, and notes for the run's output.

    A feed of a source mapping (`leadops.sources`) renames and reformats the CRM's columns first:
    the file is staged as `_batch_crm` and `_batch` is its translation.

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
        notes = _translate(con, feed, described, header_lines) if mapped else []
        if mapped:
            described = con.execute("select column_name, column_type from (describe _batch)").fetchall()
        found = _columns(described, source)
    except HeaderProblem as problem:
        raise FileRejected(path, problem.line, problem.problem) from None
    except duckdb.Error as error:
        raise FileRejected(path, line_of(str(error)), _reader_problem(str(error))) from None
    return header_lines, found, line_sql, notes


def _translate(
    con: duckdb.DuckDBPyConnection, feed: Feed, described: list[tuple[str, str]], header_lines: int
) -> list[str]:
    """Replace `_batch` with the feed's translation of it; say how many rows the feed's `when` left out."""
    staged = [(name, native_type) for name, native_type in described if name not in (ROW_ID, LINE)]
    try:
        plan = translation(feed, staged)
    except MissingColumn as missing:
        raise HeaderProblem(header_lines or 1, f"{missing} (source mapping feed {feed.label})") from None
    carried = ", ".join(quote_identifier(name) for name, _ in described if name in (ROW_ID, LINE))
    con.execute("alter view _batch rename to _batch_crm")
    where = f" where {plan.where}" if plan.where else ""
    con.execute(f"create temp view _batch as select {carried}, {plan.select} from _batch_crm{where}")
    if plan.where is None:
        return []
    (total,) = con.execute("select count(*) from _batch_crm").fetchone()
    (kept,) = con.execute("select count(*) from _batch").fetchone()
    if kept == total:
        return []
    return [f"{total - kept} of {total} row(s) have no '{plan.when_label}': not read into {feed.into}"]


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
    staged = [(name, native_type) for name, native_type in described if name not in (ROW_ID, LINE)]
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
