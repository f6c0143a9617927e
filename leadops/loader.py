"""Load landing files into the warehouse's `raw` schema, enforcing the input contract.

Every file is loaded in one transaction: each row read ends up either in `raw.<source>` or in
`raw.quarantine` with a readable reason, or the whole file is rejected and nothing of it stays.
A file whose content was loaded before (same bytes, whatever its name) is skipped, so re-running
is safe. Validation is set-based SQL inside DuckDB; no row passes through Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas costs 0.7 s to import, and the Dagster definitions import this module
    import pandas as pd

from leadops.contract import SOURCES, Source
from leadops.file_staging import ROW_ID, FileRejected, first_line, line_of, read_into_batch
from leadops.headers import column_notes
from leadops.row_rules import cleaned_text_sql, record_sql, refuse_keys_already_loaded, validated_sql
from leadops.sources import lookups
from leadops.sources.mapping import Feed
from leadops.sql import quote_identifier, quote_literal, transaction

__all__ = ["FileRejected", "quote_identifier", "quote_literal"]  # callers import them from here too


class FileChanging(Exception):
    """The file changed while it was read: a producer is still writing it. It loads on a later run."""


@dataclass(frozen=True)
class GateFinding:
    """What a batch gate found wrong with a file's accepted rows."""

    severity: str  # error: the file is rejected whole; warn: it loads and the finding is reported
    problem: str
    line: int | None = None


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


def load_feeds(
    con: duckdb.DuckDBPyConnection, source: Source, landing: Path, feeds: list[Feed], gate: BatchGate | None = None
) -> SourceReport:
    """Load every new file of each feed's folder of `landing` into the source's table, one report."""
    ensure_raw_schema(con)  # a table no feed fills is still there, empty, for the models
    report = SourceReport(source.name)
    for feed in feeds:
        report.files += load_source(con, source, landing / feed.folder, gate, feed).files
    return report


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    folder: Path,
    gate: BatchGate | None = None,
    feed: Feed | None = None,
) -> SourceReport:
    """Load every file of `folder` not loaded before, as `feed` of a source mapping reads it (the
    contract's own columns without one). Never raises for a bad file: it reports it."""
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
            file_report = _load_file(con, source, path, name, (digest, line_breaks), gate, state, feed, folder.parent)
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


CHANGING = "changed while it was read (still being written?): nothing of it is kept, and a later run loads it"


def _load_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    name: str,
    fingerprint: tuple[str, int],
    gate: BatchGate | None,
    state: tuple[int, int],
    feed: Feed | None = None,
    landing: Path | None = None,
) -> FileReport:
    with transaction(con):
        digest, line_breaks = fingerprint
        staged = read_into_batch(con, source, path, line_breaks, feed, landing)
        header_lines, found, line_sql, mapping_notes = staged.header_lines, staged.found, staged.line_sql, staged.notes
        missing = [c for c in source.required if c not in found]
        if missing:
            raise FileRejected(
                path,
                header_lines or None,
                f"missing required column(s) {', '.join(missing)}; the header has {', '.join(found) or 'nothing'}",
            )
        rows_read = con.execute("select count(*) from _batch").fetchone()[0]
        if rows_read == 0 and not staged.rows_skipped:  # a file whose rows a mapping all skipped is loaded, empty
            raise FileRejected(path, header_lines or None, "the file has a header but no rows")
        batch_id = con.execute("select coalesce(max(batch_id), 0) + 1 from raw.ingested_files").fetchone()[0]
        try:
            con.execute(validated_sql(source, found, line_sql, staged.why_missing))
        except (duckdb.IOException, duckdb.InvalidInputException) as error:  # a Parquet file's pages are read here
            raise FileRejected(path, line_of(str(error)), first_line(str(error))) from None
        if source.is_append_only:
            refuse_keys_already_loaded(con, source)
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
                f"insert into raw.quarantine select ?, ?, _line_number, _reason, {record_sql(found)}, ? "
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
        con.execute("drop table if exists _batch_translated")
        con.execute("drop view if exists _batch_crm")
        con.execute("drop table if exists _batch_lines")
        con.execute("drop table if exists _batch_rows")
        lookups.drop_tables(con)
    contract = {c.name: c.sql_type for c in source.columns}
    notes = mapping_notes + column_notes(
        found, contract, source.name, source.name == "leads", path.suffix.lower() == ".parquet"
    )
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
    # One unpivot, not a union of a select per field: a synced Salesforce lead has 372 fields, and
    # planning their union took 3 s per file.
    cleaned = ", ".join(
        f"{cleaned_text_sql(f'_batch.{quote_identifier(original)}', native_type)} as {quote_identifier(attribute)}"
        for attribute, (original, native_type) in extras.items()
    )
    text = (
        f"unpivot (select _batch.{ROW_ID} as _row_id, {cleaned} from _batch) "
        "on columns(* exclude (_row_id)) into name attribute value value"
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
