"""How a landing file's header becomes the contract's columns.

CRM exports label their columns for people (`Lead ID`, `First Name`, `Job Title`): a header is the
contract column it normalises to (trimmed, lower-cased, spaces and punctuation to `_`), and every
other column keeps its normalised name as a custom field. Two headers that both claim one contract
column make the file ambiguous, so it is rejected rather than one of them silently winning.

The CSV header is read here, before DuckDB sees the file, for two reasons: DuckDB's sniffer takes the
most consistent run of rows for the header, so one short row made it pick a data row as the header
(and the file was refused for missing columns it has); and a file with 200,000 columns cost DuckDB
20 s and 2 GB before it failed. Reading the header first gives DuckDB the dialect and the columns,
so a ragged row is reported by its line and field count, and a huge header is refused at once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_COLUMNS = 4096  # a Salesforce object holds at most 800 custom fields; HubSpot's full export ~600 columns
MAX_LINE_BYTES = 2_000_000  # DuckDB's own max_line_size
DELIMITERS = (",", ";", "\t", "|")
HEADER_MAX_LINES = 50  # a header whose quoted label spans more lines than this is not a header


class HeaderProblem(Exception):
    """The header cannot be read as columns; the file is rejected with this line and problem."""

    def __init__(self, line: int | None, problem: str):
        self.line, self.problem = line, problem
        super().__init__(problem)


@dataclass(frozen=True)
class CsvHeader:
    names: tuple[str, ...]  # as written, in file order
    delimiter: str
    lines: int  # physical lines the header takes (a quoted label may span lines)


def normalised_name(header: str) -> str:
    """A column's name as the contract and the configuration see it: ` Lead ID ` -> `lead_id`."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def read_csv_header(path: Path) -> CsvHeader:
    """The first record of a CSV file, its delimiter and the lines it takes; refused if unreadable."""
    text, lines = _header_text(path)
    # The delimiter a header holds most of (a label rarely holds one); a comma when it holds none.
    delimiter = max(DELIMITERS, key=lambda d: (text.count(d), d == ","))
    try:
        names = next(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', doublequote=True), [])
    except csv.Error as error:
        raise HeaderProblem(1, f"the header cannot be read: {error}") from None
    if len(names) > MAX_COLUMNS:
        raise HeaderProblem(1, f"the header has {len(names):,} columns; at most {MAX_COLUMNS:,}")
    return CsvHeader(tuple(names), delimiter, lines)


def _header_text(path: Path) -> tuple[str, int]:
    """The header's text: its first line, and the next ones while a quoted label is still open."""
    parts, size = [], 0
    with path.open("rb") as handle:
        for _ in range(HEADER_MAX_LINES):
            line = handle.readline(MAX_LINE_BYTES - size + 1)
            size += len(line)
            if size > MAX_LINE_BYTES:
                raise HeaderProblem(1, f"the header is longer than {MAX_LINE_BYTES:,} bytes")
            parts.append(line)
            if not line or b"".join(parts).count(b'"') % 2 == 0:
                break
        else:
            raise HeaderProblem(1, f"a quoted label in the header is not closed within {HEADER_MAX_LINES} lines")
    raw = b"".join(parts)
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets write a byte-order mark before the header
    except UnicodeDecodeError as error:
        raise HeaderProblem(1, f"the header is not utf-8 text (byte {raw[error.start]:#x})") from None
    return text.rstrip("\r\n"), len(parts)


def plan_columns(names: Sequence[str], contract: Sequence[str]) -> list[tuple[str, str]]:
    """Each column's key (the contract column or custom field it becomes) and its name as written.

    An empty label becomes `column_<position>`; a custom field whose key another column already took
    gets `_2`, `_3`; two labels that both read as one contract column are refused by position."""
    taken: dict[str, int] = {}
    plan = []
    for position, name in enumerate(names, start=1):
        key = normalised_name(name) or f"column_{position}"
        if key in taken and key in contract:
            raise HeaderProblem(
                1,
                f"columns {taken[key]} ('{names[taken[key] - 1]}') and {position} ('{name}') both read as {key}",
            )
        base, suffix = key, 2
        while key in taken:
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken[key] = position
        plan.append((key, name))
    return plan


def unique_labels(plan: list[tuple[str, str]]) -> list[str]:
    """Column names DuckDB can hold (it compares them case-insensitively): the label as written, or
    the column's key when an earlier label already spells it."""
    seen: set[str] = set()
    labels = []
    for key, name in plan:
        label = name if name.strip() and name.lower() not in seen else key
        seen.add(label.lower())
        labels.append(label)
    return labels


def column_notes(
    found: dict[str, tuple[str, str]], contract: dict[str, str], source: str, keeps_extras: bool, is_typed: bool
) -> list[str]:
    """What the run's output says of the header: labels read as contract columns, a typed file's
    columns converted to the contract's type, and the columns kept as custom fields (or, for sources
    without them, not loaded). A CSV file is all text: typing its values is the contract's job."""
    notes, extras = [], []
    for key, (label, native_type) in found.items():
        if key not in contract:
            extras.append(key if key == label else f"{key} ('{label}')")
            continue
        if label != key:
            notes.append(f"header '{label}' read as {key}")
        if is_typed and native_type != contract[key]:
            unconverted = "" if contract[key] == "VARCHAR" else " (a value that does not convert is quarantined)"
            notes.append(f"{key} is {native_type} in the file, converted to {contract[key]}{unconverted}")
    if extras and keeps_extras:
        notes.append(f"{len(extras)} column(s) kept as custom fields: {', '.join(extras)}")
    elif extras:
        notes.append(f"{len(extras)} column(s) not in the {source} contract, not loaded: {', '.join(extras)}")
    return notes
