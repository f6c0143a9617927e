"""A feed's columns as SQL over a staged CRM file: the CRM's columns renamed to the contract's, its
timestamps in their own formats, its labels mapped to the contract's values.

Translation only renames and reformats: every value still goes through the contract's row rules
afterwards, so a timestamp the formats cannot read arrives as the text it was and is quarantined
with that value, never dropped or guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadops.headers import normalised_name
from leadops.sources.mapping import CUSTOM_PREFIX, ColumnMap, Feed
from leadops.sql import quote_identifier, quote_literal

TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S.%f"


class MissingColumn(Exception):
    """The file lacks a column the feed names."""


@dataclass(frozen=True)
class Translation:
    select: str  # the select list, over the staged file's columns
    where: str | None  # the feed's `when`, as a condition
    when_label: str | None  # the CRM column of `when`, as the file spells it


def translation(feed: Feed, staged: list[tuple[str, str]]) -> Translation:
    """`staged`: the file's columns as read (label, DuckDB type), without leadops' own row columns."""
    by_label = _labels(staged)
    used: set[str] = set()
    parts = []
    for target, mapped in feed.columns.items():
        name = target.removeprefix(CUSTOM_PREFIX)
        if mapped.column is None:
            parts.append(f"{quote_literal(mapped.value)} as {quote_identifier(name)}")
            continue
        label, native_type = _find(by_label, mapped.column, target)
        used.add(label)
        parts.append(f"{_expression(mapped, label, native_type)} as {quote_identifier(name)}")
    taken = {target.removeprefix(CUSTOM_PREFIX) for target in feed.columns}
    for label, _ in staged:
        if label in used:
            continue
        key, suffix = normalised_name(label) or label, 2
        base = key
        while key in taken:  # a CRM column that spells a column the feed already gives
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(key)
        parts.append(f"{quote_identifier(label)} as {quote_identifier(key)}")
    where, when_label = None, None
    if feed.when is not None:
        when_label, native_type = _find(by_label, feed.when, "when")
        where = f"nullif(trim({_text(when_label, native_type)}), '') is not null"
    return Translation(", ".join(parts), where, when_label)


def _labels(staged: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Each staged column by its label and by its normalised name (`Create Date`, `create_date`)."""
    found: dict[str, tuple[str, str]] = {}
    for label, native_type in staged:
        found.setdefault(label, (label, native_type))
        found.setdefault(normalised_name(label), (label, native_type))
    return found


def _find(by_label: dict[str, tuple[str, str]], column: str, target: str) -> tuple[str, str]:
    found = by_label.get(column) or by_label.get(normalised_name(column))
    if found is None:
        raise MissingColumn(f"the mapping reads '{column}' (for {target}), which the header does not have")
    return found


def _text(label: str, native_type: str) -> str:
    column = quote_identifier(label)
    return column if native_type == "VARCHAR" else f"cast({column} as varchar)"


def _expression(mapped: ColumnMap, label: str, native_type: str) -> str:
    text = _text(label, native_type)
    if mapped.values:
        cases = " ".join(
            f"when {quote_literal(crm.strip().lower())} then {quote_literal(value)}"
            for crm, value in mapped.values.items()
        )
        text = f"case lower(trim({text})) {cases} else {text} end"
    if not mapped.format:
        return text if (mapped.values or native_type == "VARCHAR") else quote_identifier(label)
    readings = [_timestamp(text, fmt) for fmt in mapped.format]
    parsed = readings[0] if len(readings) == 1 else f"coalesce({', '.join(readings)})"
    # A value no format reads stays the text it was, for the contract to quarantine with its value.
    return f"coalesce(strftime({parsed}, {quote_literal(TIMESTAMP_TEXT)}), {text})"


def _timestamp(text: str, fmt: str) -> str:
    if fmt == "epoch_ms":
        return f"epoch_ms(try_cast(trim({text}) as bigint))"
    if fmt == "epoch_s":
        return f"cast(to_timestamp(try_cast(trim({text}) as double)) as timestamp)"
    return f"cast(try_strptime(trim({text}), {quote_literal(fmt)}) as timestamp)"
