"""Load landing files into the warehouse's `raw` schema, enforcing the input contract.

Every file is loaded in one transaction: each row read ends up either in `raw.<source>` or in
`raw.quarantine` with a readable reason, or the whole file is rejected and nothing of it stays.
A file whose content was loaded before (same bytes, whatever its name) is skipped, so re-running
is safe. Validation is set-based SQL inside DuckDB; no row passes through Python.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas costs 0.7 s to import, and the Dagster definitions import this module
    import pandas as pd

from leadops.contract import FILE_SUFFIXES, SOURCES, Column, Source
from leadops.headers import MAX_LINE_BYTES, HeaderProblem, column_notes, plan_columns, read_csv_header, unique_labels
from leadops.sql import transaction

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
NON_NEGATIVE = {"employees", "annual_revenue", "amount"}


class FileRejected(Exception):
    """A file that cannot be loaded at all; nothing of it is kept."""

    def __init__(self, path: Path, line: int | None, problem: str):
        self.path, self.line, self.problem = path, line, problem
        where = f", line {line}" if line else ""
        super().__init__(f"{path}{where}: {problem}")


class FileChanging(Exception):
    """The file changed while it was read: a producer is still writing it. It loads on a later run."""


@dataclass(frozen=True)
class GateFinding:
    """What a batch gate found wrong with a file's accepted rows."""

    severity: str  # error: the file is rejected whole; warn: it loads and the finding is reported
    problem: str
    line: int | None = None


ROW_ID = "_leadops_row_id"  # a staged row's position in its file, from 0; reserved in landing files
LINE = "_leadops_line"  # the line a CSV row starts on, when a quoted value spans lines; reserved too

# A gate sees the source, the file's name and (a bounded, repeatable sample of) the rows the file is
# about to load, with their `_line_number`, before anything is committed. A gate may also have a
# `prepare()` method: it is called once, when the first new file is found, before the file is read, so
# that the gate can get ready while the file is validated.
BatchGate = Callable[[Source, str, "pd.DataFrame"], list[GateFinding]]
GATE_SAMPLE_ROWS = 100_000


@dataclass
class FileReport:
    source: str
    file_name: str
    status: str  # loaded | skipped | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    batch_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the header was read: what the run's output says


@dataclass
class SourceReport:
    source: str
    files: list[FileReport] = field(default_factory=list)

    def _sum(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def rows_loaded(self) -> int:
        return self._sum("rows_loaded")

    @property
    def rows_quarantined(self) -> int:
        return self._sum("rows_quarantined")

    def with_status(self, status: str) -> list[FileReport]:
        return [f for f in self.files if f.status == status]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for source in SOURCES.values():
        columns = ", ".join(f"{quote_identifier(c.name)} {c.sql_type}" for c in source.columns)
        con.execute(
            f"create table if not exists raw.{source.name} ({columns}, "
            "_batch_id bigint not null, _file_name varchar not null, _line_number bigint not null)"
        )
    # CRM custom fields: the extra columns of leads files, one row per lead, field and file row (see
    # `_keep_lead_attributes`). A lead's attributes are those of the row that is the lead.
    con.execute(
        "create table if not exists raw.lead_attributes (lead_id varchar not null, attribute varchar not null, "
        "value varchar not null, _batch_id bigint not null, _file_name varchar not null, _line_number bigint not null)"
    )
    con.execute(
        "create table if not exists raw.quarantine (source varchar not null, file_name varchar not null, "
        "line_number bigint not null, reason varchar not null, record varchar, _batch_id bigint not null)"
    )
    con.execute(
        "create table if not exists raw.ingested_files (batch_id bigint primary key, source varchar not null, "
        "file_name varchar not null, file_hash varchar not null, size_bytes bigint not null, "
        "rows_read bigint not null, rows_loaded bigint not null, rows_quarantined bigint not null, "
        "loaded_at timestamp not null)"
    )
    con.execute(
        "create table if not exists raw.rejected_files (source varchar not null, file_name varchar not null, "
        "file_hash varchar, line_number bigint, problem varchar not null, rejected_at timestamp not null)"
    )


def landing_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def file_state(path: Path) -> tuple[int, int]:
    """What changes while a producer writes the file: its size and its modification time."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def file_fingerprint(path: Path) -> tuple[str, int]:
    """The file's content hash and its number of line breaks, in one read."""
    digest, line_breaks = hashlib.blake2b(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            line_breaks += chunk.count(b"\n")
    return digest.hexdigest(), line_breaks


def load_source(
    con: duckdb.DuckDBPyConnection, source: Source, folder: Path, gate: BatchGate | None = None
) -> SourceReport:
    """Load every file of `folder` not loaded before. Never raises for a bad file: it reports it."""
    ensure_raw_schema(con)
    con.execute("set TimeZone = 'UTC'")
    report = SourceReport(source.name)
    loaded = dict(
        con.execute("select file_hash, file_name from raw.ingested_files where source = ?", [source.name]).fetchall()
    )
    is_gate_ready = False
    for path in landing_files(folder):
        name = str(path.relative_to(folder.parent))
        state = file_state(path)
        digest, line_breaks = file_fingerprint(path)
        if digest in loaded:
            note = "already loaded" if loaded[digest] == name else f"same content as {loaded[digest]}"
            report.files.append(FileReport(source.name, name, "skipped", message=note))
            continue
        if gate is not None and not is_gate_ready:
            getattr(gate, "prepare", lambda: None)()
            is_gate_ready = True
        try:
            file_report = _load_file(con, source, path, name, (digest, line_breaks), gate, state)
        except FileChanging:
            report.files.append(FileReport(source.name, name, "skipped", message=CHANGING))
            continue
        except FileRejected as rejected:
            if file_state(path) != state:  # half-written, not bad: judged once it stops changing
                report.files.append(FileReport(source.name, name, "skipped", message=CHANGING))
                continue
            con.execute(
                "insert into raw.rejected_files values (?, ?, ?, ?, ?, now())",
                [source.name, name, digest, rejected.line, rejected.problem],
            )
            report.files.append(FileReport(source.name, name, "rejected", message=str(rejected)))
            continue
        loaded[digest] = name
        report.files.append(file_report)
    return report


def _read_into_batch(
    con: duckdb.DuckDBPyConnection, source: Source, path: Path, line_breaks: int
) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Stage the file as `_batch`, each row with its position in the file as ROW_ID; return the
    number of header lines, the file's columns (contract column or custom field -> name as staged,
    type) and the SQL of each row's line number in the file.

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
        header_lines, labels = _csv_labels(path, source) if suffix == ".csv" else (0, None)
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
        found = _columns(described, source)
    except HeaderProblem as problem:
        raise FileRejected(path, problem.line, problem.problem) from None
    except duckdb.Error as error:
        raise FileRejected(path, _line_of(str(error)), _reader_problem(str(error))) from None
    return header_lines, found, line_sql


def _csv_labels(path: Path, source: Source) -> tuple[int, tuple[str, tuple[str, ...]]]:
    """The CSV header's lines, and its delimiter with the (unique) column labels DuckDB reads."""
    header = read_csv_header(path)
    labels = unique_labels(plan_columns(header.names, source.column_names))
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


def _line_of(message: str) -> int | None:
    match = re.search(r"[Ll]ine:? (\d+)", message)
    return int(match.group(1)) if match else None


def _reader_problem(message: str) -> str:
    """DuckDB's reader error as the problem a user fixes in the file: which line, and what is wrong."""
    line = _line_of(message)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if fields and line:
        expected, found = fields.groups()
        return f"the line has {found} field(s) where the header has {expected}"
    size = re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", message)
    if size and line:
        limit, actual = (int(n) for n in size.groups())
        return f"the line is {actual:,} bytes long (at most {limit:,})"
    return _first_line(message)


def _first_line(message: str) -> str:
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


CHANGING = "changed while it was read (still being written?): nothing of it is kept, and a later run loads it"


def _load_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    name: str,
    fingerprint: tuple[str, int],
    gate: BatchGate | None,
    state: tuple[int, int],
) -> FileReport:
    with transaction(con):
        digest, line_breaks = fingerprint
        header_lines, found, line_sql = _read_into_batch(con, source, path, line_breaks)
        missing = [c for c in source.required if c not in found]
        if missing:
            raise FileRejected(
                path,
                header_lines or None,
                f"missing required column(s) {', '.join(missing)}; the header has {', '.join(found) or 'nothing'}",
            )
        rows_read = con.execute("select count(*) from _batch").fetchone()[0]
        if rows_read == 0:
            raise FileRejected(path, header_lines or None, "the file has a header but no rows")
        batch_id = con.execute("select coalesce(max(batch_id), 0) + 1 from raw.ingested_files").fetchone()[0]
        try:
            con.execute(_validated_sql(source, found, line_sql))
        except (duckdb.IOException, duckdb.InvalidInputException) as error:  # a Parquet file's pages are read here
            raise FileRejected(path, _line_of(str(error)), _first_line(str(error))) from None
        if source.is_append_only:
            _refuse_keys_already_loaded(con, source)
        rows_quarantined = con.execute("select count(*) from _validated where _reason is not null").fetchone()[0]
        rows_loaded = rows_read - rows_quarantined
        # The gate (pandas, mostly holding the GIL) judges its sample while DuckDB (which releases
        # it) writes the file's rows: both inside the file's transaction, so a file the gate
        # rejects leaves nothing behind, and neither waits for the other.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate") as pool:
            verdict = (
                pool.submit(_gate_verdict, gate, source, path, name, _gate_sample(con, source, rows_loaded))
                if gate
                else None
            )
            con.execute(
                f"insert into raw.{source.name} select {', '.join(quote_identifier(c) for c in source.column_names)}, "
                "?, ?, _line_number from _validated where _reason is null",
                [batch_id, name],
            )
            attribute_warnings = (
                _keep_lead_attributes(con, source, found, batch_id, name) if source.name == "leads" else []
            )
            con.execute(
                f"insert into raw.quarantine select ?, ?, _line_number, _reason, {_record_sql(found)}, ? "
                f"from _validated inner join _batch on _batch.{ROW_ID} = _validated._row_id where _reason is not null",
                [source.name, name, batch_id],
            )
            con.execute(
                "insert into raw.ingested_files values (?, ?, ?, ?, ?, ?, ?, ?, now())",
                [
                    batch_id,
                    source.name,
                    name,
                    digest,
                    state[0],
                    rows_read,
                    rows_loaded,
                    rows_quarantined,
                ],
            )
            warnings = (verdict.result() if verdict else []) + attribute_warnings  # a rejection raises here
        if file_state(path) != state:  # the rows read may not be the bytes hashed: roll the file back
            raise FileChanging(path)
        con.execute("drop table _validated")
        con.execute("drop view _batch")
        con.execute("drop table if exists _batch_lines")
        con.execute("drop table if exists _batch_rows")
    contract = {c.name: c.sql_type for c in source.columns}
    notes = column_notes(found, contract, source.name, source.name == "leads", path.suffix.lower() == ".parquet")
    return FileReport(
        source.name,
        name,
        "loaded",
        rows_read,
        rows_loaded,
        rows_quarantined,
        batch_id=batch_id,
        warnings=warnings,
        notes=notes,
    )


CUSTOM_VALUE_MAX_LENGTH = 1000


def _keep_lead_attributes(
    con: duckdb.DuckDBPyConnection, source: Source, found: dict[str, tuple[str, str]], batch_id: int, name: str
) -> list[str]:
    """Keep the file's extra columns of loaded rows as `raw.lead_attributes`, in the file's transaction.

    Empty values are not kept; a value longer than the contract's text limit is dropped with a warning
    rather than quarantining a lead whose contract columns are fine."""
    extras = {key: column for key, column in found.items() if key not in source.column_names}
    if not extras:
        return []
    text = " union all ".join(
        f"select _batch.{ROW_ID} as _row_id, {quote_literal(attribute)} as attribute, "
        f"{_cleaned_text_sql(f'_batch.{quote_identifier(original)}', native_type)} as value from _batch"
        for attribute, (original, native_type) in extras.items()
    )
    con.execute(
        f"""
        create or replace temp table _attributes as
        select _validated.lead_id, extra.attribute, extra.value, _validated._line_number
        from ({text}) as extra
        inner join _validated on extra._row_id = _validated._row_id
        where _validated._reason is null and extra.value is not null
        """
    )
    too_long = con.execute(
        f"select count(*) from _attributes where length(value) > {CUSTOM_VALUE_MAX_LENGTH}"
    ).fetchone()[0]
    con.execute(
        "insert into raw.lead_attributes select lead_id, attribute, value, ?, ?, _line_number from _attributes "
        f"where length(value) <= {CUSTOM_VALUE_MAX_LENGTH}",
        [batch_id, name],
    )
    con.execute("drop table _attributes")
    if too_long:
        return [f"{too_long} custom field value(s) longer than {CUSTOM_VALUE_MAX_LENGTH} characters were not kept"]
    return []


def _gate_sample(con: duckdb.DuckDBPyConnection, source: Source, valid: int) -> pd.DataFrame:
    """The `valid` accepted rows a gate sees: all of them, or a repeatable sample of GATE_SAMPLE_ROWS."""
    columns = ", ".join(quote_identifier(c) for c in (*source.column_names, "_line_number"))
    # A repeatable sample: the rows whose line number hashes into the first GATE_SAMPLE_ROWS / valid
    # of the range (a filter, where a reservoir sample of the same rows took three times as long).
    sampled = f"and hash(_line_number) % {valid} < {GATE_SAMPLE_ROWS}" if valid > GATE_SAMPLE_ROWS else ""
    return con.execute(f"select {columns} from _validated where _reason is null {sampled} order by _line_number").df()


def _gate_verdict(gate: BatchGate, source: Source, path: Path, name: str, sample: pd.DataFrame) -> list[str]:
    """The gate's warnings; its errors reject the file."""
    findings = gate(source, name, sample)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise FileRejected(path, errors[0].line, "; ".join(f.problem for f in errors))
    return [f.problem for f in findings]


def _validated_sql(source: Source, found: dict[str, tuple[str, str]], line_sql: str) -> str:
    """Each row of `_batch` with its typed values and the reason it is refused, if it is.

    Set-based passes: clean each text value once, type it and collect the contract's problems
    (materialized once, as three passes read it), then find the keys the file repeats so that only
    the last valid row of a key is kept. Most files repeat nothing, so repeats are found by a hash
    of the key first (an integer aggregate) and confirmed on the few candidates, instead of
    aggregating or windowing every key. The reasons are spelled out only for the rows that have a
    problem, and the original record of a refused row is rebuilt when it is quarantined, not kept
    for every row."""
    cleaned, typed, reasons = [], [], []
    for column in source.columns:
        original, native_type = found.get(column.name, (None, "NULL"))
        raw = f"_batch.{quote_identifier(original)}" if original else "null"
        is_native = native_type == column.sql_type == "TIMESTAMP"
        text = raw if is_native else _cleaned_text_sql(raw, native_type)
        cleaned.append(f"{text} as {quote_identifier(column.name)}")
        value, problems = _column_rules(column, f"cleaned.{quote_identifier(column.name)}", is_native)
        typed.append(f"{value} as {quote_identifier(column.name)}")
        reasons.extend(problems)
    any_problem = " or ".join(f"({condition})" for condition, _ in reasons)
    spelled_out = ", ".join(f"case when {condition} then {message} end" for condition, message in reasons)
    keys = [quote_identifier(c) for c in source.key]
    key_text = " || ', ' || ".join(
        f"{quote_literal(c + ' ')} || {_in_quotes_sql('typed.' + quote_identifier(c))}" for c in source.key
    )
    same_key = " and ".join(f"typed.{k} = repeated.{k}" for k in keys)
    return f"""
        create or replace temp table _validated as
        with cleaned as (
            select
                {", ".join(cleaned)},
                {line_sql} as _line_number,
                _batch.{ROW_ID} as _row_id
            from _batch
        ),
        typed as materialized (
            select
                {", ".join(typed)},
                _line_number,
                _row_id,
                case when {any_problem} then concat_ws('; ', {spelled_out}) end as _problems
            from cleaned
        ),
        repeated_hashes as (
            select hash({", ".join(keys)}) as _key_hash from typed group by 1 having count(*) > 1
        ),
        repeated as (
            select {", ".join(keys)}, max(case when _problems is null then _line_number end) as _last_valid_line
            from typed
            where hash({", ".join(keys)}) in (select _key_hash from repeated_hashes)
            group by {", ".join(keys)}
            having count(*) > 1
        )
        select
            typed.* exclude (_problems),
            coalesce(
                typed._problems,
                case when typed._line_number < repeated._last_valid_line
                    then {key_text} || ' appears again on line ' || repeated._last_valid_line
                        || '; the last row is kept'
                end
            ) as _reason
        from typed
        left join repeated on {same_key}
    """


def _refuse_keys_already_loaded(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Quarantine the rows of an append-only source whose key an earlier file already delivered."""
    same_key = " and ".join(f"loaded.{quote_identifier(c)} = _validated.{quote_identifier(c)}" for c in source.key)
    key_text = " || ', ' || ".join(
        f"{quote_literal(c + ' ')} || {_in_quotes_sql('_validated.' + quote_identifier(c))}" for c in source.key
    )
    con.execute(
        f"""
        update _validated
        set _reason = {key_text} || ' was already loaded from ' || loaded._file_name || ' line '
            || loaded._line_number || '; it counts once'
        from raw.{source.name} as loaded
        where _validated._reason is null and {same_key}
        """
    )


def _record_sql(found: dict[str, tuple[str, str]]) -> str:
    """A refused row as the file had it, for `raw.quarantine.record`."""
    fields = ", ".join(
        f"{quote_identifier(original)} := cast(_batch.{quote_identifier(original)} as varchar)"
        for original, _ in found.values()
    )
    return f"cast(struct_pack({fields}) as varchar)"


def _cleaned_text_sql(raw: str, native_type: str) -> str:
    """SQL for a value as text without the spaces, tabs and line breaks around it (spreadsheets
    leave them around pasted values), empty text as null.

    Trimming was the costliest part of validating a file (2.1 s of 3.4 s for the six text columns of
    5M events) and almost no value needs it, so it runs only where the first or last character is a
    space or a control character (every character it removes is one); elsewhere it would give the
    value back unchanged."""
    text = raw if native_type == "VARCHAR" else f"cast({raw} as varchar)"
    trimmed = f"nullif(trim({text}, ' ' || chr(9) || chr(10) || chr(13)), '')"
    return f"case when {text} = '' or ord({text}[1]) <= 32 or ord({text}[-1]) <= 32 then {trimmed} else {text} end"


def _in_quotes_sql(expression: str) -> str:
    """SQL that shows a value in single quotes inside a reason: email 'bob@'."""
    return "'''' || " + expression + " || ''''"


def _column_rules(column: Column, text: str, is_native: bool) -> tuple[str, list[tuple[str, str]]]:
    """The SQL for the column's typed value and, for each reason the value can be refused, the
    condition and the reason's text, given the value's cleaned text (or the value itself when the
    file already has the contract's type).

    A Parquet column that already has the contract's type is taken as it is: converting 50M
    timestamps to text and back would cost more than the whole load.
    """
    name = column.name
    if is_native:
        return text, [(f"{text} is null", f"'missing required {name}'")] if column.required else []
    shown = f"'{name} ' || {_in_quotes_sql(f'left({text}, 80)')}"
    problems = []
    if column.required:
        problems.append((f"{text} is null", f"'missing required {name}'"))

    if column.sql_type == "VARCHAR":
        value = f"lower({text})" if name in {"email", "company_domain", "event_type", "stage"} else text
        problems.append(
            (
                f"length({text}) > {column.max_length}",
                f"'{name} is ' || length({text}) || ' characters long (at most {column.max_length})'",
            )
        )
    elif column.sql_type == "TIMESTAMP":
        value = f"try_cast({text} as timestamptz) at time zone 'UTC'"
        problems.append((f"{text} is not null and {value} is null", f"{shown} || ' is not a timestamp'"))
    elif column.sql_type == "BOOLEAN":
        truthy = ", ".join(quote_literal(w) for w in TRUE_WORDS)
        falsy = ", ".join(quote_literal(w) for w in FALSE_WORDS)
        value = f"case when lower({text}) in ({truthy}) then true when lower({text}) in ({falsy}) then false end"
        problems.append((f"{text} is not null and {value} is null", f"{shown} || ' is not true/false'"))
    else:
        value = f"try_cast({text} as {column.sql_type})"
        if column.sql_type == "BIGINT":  # a cast would round 12.5 to 13: refuse instead
            value = f"case when regexp_full_match({text}, '[+-]?[0-9]+') then {value} end"
        kind = "a whole number" if column.sql_type == "BIGINT" else "a number"
        problems.append((f"{text} is not null and {value} is null", f"{shown} || ' is not {kind}'"))
        if name in NON_NEGATIVE:
            problems.append((f"{value} < 0", f"{shown} || ' is negative'"))

    if name == "email":
        problems.append(
            (
                f"{text} is not null and not regexp_full_match({value}, {quote_literal(EMAIL_PATTERN)})",
                f"{shown} || ' is not an address'",
            )
        )
    if column.allowed:
        allowed = ", ".join(quote_literal(v) for v in column.allowed)
        problems.append(
            (
                f"{text} is not null and lower({text}) not in ({allowed})",
                f"{shown} || ' is not one of {', '.join(column.allowed)}'",
            )
        )
    return value, problems
