"""A feed's columns as SQL over a staged CRM file: the CRM's columns renamed to the contract's, its
timestamps in their own formats, its labels mapped to the contract's values, values looked up in
other landing folders, merged ids replaced by the id they were merged into, and the rows the feed
skips, each with the reason the run's output counts it by.

Translation only renames, reformats and looks up: every value still goes through the contract's row
rules afterwards, so a timestamp the formats cannot read arrives as the text it was and is
quarantined with that value, and a lookup that finds nothing leaves its column empty, for the
contract to quarantine the row with the lookup named, never dropped or guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadops.contract import SOURCES
from leadops.headers import normalised_name
from leadops.sources.mapping import CUSTOM_PREFIX, ColumnMap, Feed, Lookup, Skip
from leadops.sql import quote_identifier, quote_literal

TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S.%f"
HIDDEN_PREFIX = "_leadops_"  # the columns leadops adds to a staged file, never a CRM's or a custom field
WHY_MISSING = f"{HIDDEN_PREFIX}why_"  # + a required column: why its lookup found nothing, for the reason
MERGED_IDS = "_merged_ids"  # the mapping's merged ids, resolved: id -> the id it ended up merged into
STAGED = "_batch_crm"  # the CRM file as staged, which the translation selects from


class MissingColumn(Exception):
    """The file lacks a column the feed names."""


@dataclass(frozen=True)
class LookupTable:
    """A lookup step read into a temporary table: one row per value looked for (`key`), with the
    lowest value taken (`value`) and how many different ones there were (`candidates`)."""

    name: str
    step: Lookup
    target: str  # the contract column or custom field the lookup gives
    is_needed: bool  # a required contract column: a folder without files rejects the file, for a later run


@dataclass(frozen=True)
class Translation:
    select: str  # the select list, over `source`
    source: str  # the staged file with its lookups and merged ids joined, one row per file row
    skips: list[tuple[str, str]]  # (condition, what the output says): the first that holds skips the row
    lookup_tables: list[LookupTable]
    merges: bool  # lead_id goes through the mapping's merged ids
    notes: list[str]  # what the header lacked or the translation left out
    counted: list[tuple[str, str]]  # (condition, what the output says) counted over the rows kept

    @property
    def where(self) -> str | None:
        return " and ".join(f"not {condition}" for condition, _ in self.skips) or None


def translation(feed: Feed, staged: list[tuple[str, str]]) -> Translation:
    """`staged`: the file's columns as read (label, DuckDB type), without leadops' own row columns."""
    by_label = _labels(staged)
    required = set(SOURCES[feed.into].required)
    used: set[str] = set()
    parts, joins, tables, notes, counted, skips = [], [], [], [], [], []
    merges = False
    for index, (target, mapped) in enumerate(feed.columns.items()):
        name = target.removeprefix(CUSTOM_PREFIX)
        if mapped.column is None:
            parts.append(f"{quote_literal(mapped.value)} as {quote_identifier(name)}")
            continue
        found = _find(by_label, mapped.column, target, mapped.optional)
        if found is None:
            notes.append(f"the file has no {' or '.join(repr(c) for c in mapped.column)}: {name} is empty")
            continue  # a column the batch lacks is empty to the contract
        label, native_type = found
        used.add(label)
        column = f"{STAGED}.{quote_identifier(label)}"
        if mapped.lookup:
            looked_up = _looked_up(index, name, mapped.lookup, _text(column, native_type), label)
            joins += looked_up.joins
            tables += [LookupTable(table, step, name, target in required) for table, step in looked_up.tables]
            counted += looked_up.counted
            if target in required:
                parts.append(f"{looked_up.why} as {quote_identifier(WHY_MISSING + name)}")
            column, native_type = looked_up.value, "VARCHAR"
        if target == "lead_id" and feed.merged_ids:
            merges = True
            column, native_type = _text(column, native_type), "VARCHAR"  # an id typed BIGINT in Parquet
            joins.append(f"left join {MERGED_IDS} as _leadops_merged on _leadops_merged.id = trim({column})")
            merged = "_leadops_merged.id is not null"
            if feed.into == "leads":  # after the feed's own skips: a deleted record is counted as deleted
                merged_skip = (merged, "skipped: merged into another record (merged_ids), which is the lead")
            else:
                counted.append((merged, "row(s) name a merged record: counted for the one it was merged into"))
            column = f"coalesce(_leadops_merged.merged_into, {column})"
        parts.append(f"{_expression(mapped, column, native_type)} as {quote_identifier(name)}")
    parts += _unnamed_columns(feed, staged, used)
    if feed.when is not None:
        when_label, native_type = _find(by_label, [feed.when], "when", optional=False)
        text = _text(f"{STAGED}.{quote_identifier(when_label)}", native_type)
        skips.insert(0, (f"(nullif(trim({text}), '') is null)", f"have no '{when_label}': not read into {feed.into}"))
    skips += [condition for skip in feed.skip_when if (condition := _skip_condition(by_label, skip))]
    if merges and feed.into == "leads":
        skips.append(merged_skip)
    return Translation(", ".join(parts), " ".join([STAGED, *joins]), skips, tables, merges, notes, counted)


@dataclass(frozen=True)
class _LookedUp:
    value: str  # the last step's value
    why: str  # why nothing was found, step by step, or null
    joins: list[str]
    tables: list[tuple[str, Lookup]]
    counted: list[tuple[str, str]]


def _looked_up(index: int, name: str, steps: list[Lookup], text: str, label: str) -> _LookedUp:
    """Each step a left join on its table's key: one row per key, so the file keeps its rows."""
    value, joins, tables, counted = text, [], [], []
    whys = [f"when nullif(trim({text}), '') is null then {quote_literal(f'the row has no {label}')}"]
    for position, step in enumerate(steps):
        table, alias = f"_lookup_{index}_{position}", f"_leadops_lookup_{index}_{position}"
        joins.append(f"left join {table} as {alias} on {alias}.key = {lookup_key(value, step.ignore_case)}")
        tables.append((table, step))
        shown = f"'''' || left(trim({value}), 80) || ''''"
        whys.append(
            f"when {alias}.value is null then {quote_literal(f'no {step.folder} row has {step.match} ')} || {shown}"
        )
        counted.append(
            (f"{alias}.candidates > 1", f"row(s) matched several {step.folder} rows: {name} is the lowest {step.take}")
        )
        value = f"{alias}.value"
    return _LookedUp(value, f"case {' '.join(whys)} end", joins, tables, counted)


def lookup_key(text: str, ignore_case: bool) -> str:
    """A value as a lookup compares it: trimmed, and lower-cased too for an email address."""
    return f"lower(trim({text}))" if ignore_case else f"trim({text})"


def _unnamed_columns(feed: Feed, staged: list[tuple[str, str]], used: set[str]) -> list[str]:
    """The CRM columns the feed does not name, read as the contract reads any file: a header that
    normalises to a contract column is that column, and a leads feed keeps the others as custom
    fields. Another table's other columns are not read (a synced table has hundreds)."""
    contract = SOURCES[feed.into].column_names
    taken = {target.removeprefix(CUSTOM_PREFIX) for target in feed.columns}
    parts = []
    for label, _ in staged:
        if label in used:
            continue
        key, suffix = normalised_name(label) or label, 2
        if feed.into != "leads" and (key not in contract or key in taken):
            continue
        base = key
        while key in taken:  # a CRM column that spells a column the feed already gives
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(key)
        parts.append(f"{STAGED}.{quote_identifier(label)} as {quote_identifier(key)}")
    return parts


def _skip_condition(by_label: dict[str, tuple[str, str]], skip: Skip) -> tuple[str, str] | None:
    found = _find(by_label, [skip.column], "skip_when", skip.optional)
    if found is None:  # an optional column the file lacks: it skips nothing
        return None
    label, native_type = found
    text = f"lower(trim({_text(f'{STAGED}.{quote_identifier(label)}', native_type)}))"
    listed = ", ".join(quote_literal(value.strip().lower()) for value in skip.values or skip.other_than or [])
    is_listed = f"coalesce({text} in ({listed}), false)"
    return (is_listed if skip.values else f"(not {is_listed})"), f"skipped: {skip.reason}"


def _labels(staged: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Each staged column by its label and by its normalised name (`Create Date`, `create_date`)."""
    found: dict[str, tuple[str, str]] = {}
    for label, native_type in staged:
        found.setdefault(label, (label, native_type))
        found.setdefault(normalised_name(label), (label, native_type))
    return found


def _find(
    by_label: dict[str, tuple[str, str]], columns: list[str], target: str, optional: bool
) -> tuple[str, str] | None:
    """The first of the columns the file has; None for an optional column it lacks."""
    for column in columns:
        found = by_label.get(column) or by_label.get(normalised_name(column))
        if found is not None:
            return found
    if optional:
        return None
    named = " or ".join(f"'{column}'" for column in columns)
    raise MissingColumn(f"the mapping reads {named} (for {target}), which the header does not have")


def _text(column: str, native_type: str) -> str:
    return column if native_type == "VARCHAR" else f"cast({column} as varchar)"


def _expression(mapped: ColumnMap, column: str, native_type: str) -> str:
    text = _text(column, native_type)
    if mapped.as_ == "domain":
        text = domain_sql(text)
    otherwise = f"({quote_literal(mapped.prefix)} || {text})" if mapped.prefix else text
    if mapped.values:
        cases = " ".join(
            f"when {quote_literal(crm.strip().lower())} then {quote_literal(value)}"
            for crm, value in mapped.values.items()
        )
        text = f"case lower(trim({text})) {cases} else {otherwise} end"
    else:
        text = otherwise
    if not mapped.format:
        return text if (mapped.values or mapped.as_ or mapped.prefix or native_type == "VARCHAR") else column
    readings = [_timestamp(text, fmt) for fmt in mapped.format]
    parsed = readings[0] if len(readings) == 1 else f"coalesce({', '.join(readings)})"
    # A value no format reads stays the text it was, for the contract to quarantine with its value.
    return f"coalesce(strftime({parsed}, {quote_literal(TIMESTAMP_TEXT)}), {text})"


def domain_sql(text: str) -> str:
    """A website or address as its domain: `https://www.Acme.com/about` and `bob@acme.com` are
    `acme.com`. A value with no dot stays as it was, for the contract to judge."""
    host = f"regexp_replace(lower(trim({text})), '^([a-z][a-z0-9+.-]*://)?([^@/]*@)?(www\\.)?', '')"
    host = f"regexp_replace({host}, '[/?#:].*$', '')"
    return f"case when {host} like '%.%' then {host} else {text} end"


def _timestamp(text: str, fmt: str) -> str:
    if fmt == "epoch_ms":
        return f"epoch_ms(try_cast(trim({text}) as bigint))"
    if fmt == "epoch_s":
        return f"cast(to_timestamp(try_cast(trim({text}) as double)) as timestamp)"
    return f"cast(try_strptime(trim({text}), {quote_literal(fmt)}) as timestamp)"
