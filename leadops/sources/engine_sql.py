"""A source mapping's feeds as SQL the warehouse engine runs over the tables a sync wrote there.

On Spark, a sync such as Fivetran writes the CRM into a schema of the engine's own catalog
(`hubspot.contact`, `hubspot.email_event`, ...). Instead of reading those rows into DuckDB, leadops
renders each feed of the mapping as a select over its table, with the same renames, value maps,
lookups (left joins on one row per key), merged ids (a chain of joins) and skips as the file route
(`leadops.sources.translate`), in SQL that DuckDB and Spark both run: the few functions they spell
differently are the `Dialect`'s. `leadops.sources.engine_rules` then applies the contract's row
rules and writes the raw tables. The same statements run on DuckDB in the test suite, where they
must give the rows the file route loads from the same data.

What a table has is asked of the engine first (`columns`: each table's columns and types), since a
feed reads the first of several columns a table has, keeps the unnamed ones as custom fields, and
lets optional columns be absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leadops.contract import SOURCES
from leadops.headers import normalised_name
from leadops.sources.lookups import MAX_MERGE_STEPS
from leadops.sources.mapping import CUSTOM_PREFIX, ColumnMap, Feed, MergedIds, SourceMapping

SKIP = "_leadops_skip"  # the reason a row is left out, or null
CURSOR = "_leadops_cursor"  # the sync's cursor as text: which of two rows of one key is the later
MERGED = "_leadops_merged_ids"
WHY = "_leadops_why_"  # + a required column: why its lookup found nothing
WORK_SCHEMA = "leadops_work"  # Spark: the tables computed on the way, replaced on each run
DOMAIN_PREFIX = r"^([a-z][a-z0-9+.-]*://)?([^@/]*@)?(www\.)?"  # a URL's scheme, an address's user, www.


class FeedUnavailable(ValueError):
    """The feed cannot be read from the engine's tables (no table, no column it needs): left out."""


@dataclass(frozen=True)
class Dialect:
    """What DuckDB and Spark spell differently; everything else is written once."""

    name: str  # duckdb | spark

    def ident(self, name: str) -> str:
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        if self.name == "spark":  # Spark's literals read backslash escapes
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    def strip(self, text: str) -> str:
        """Without the spaces, tabs and line breaks around it, empty as null."""
        if self.name == "spark":
            return f"nullif(trim(BOTH ' \\t\\n\\r' FROM {text}), '')"
        return f"nullif(trim({text}, ' ' || chr(9) || chr(10) || chr(13)), '')"

    def full_match(self, text: str, pattern: str) -> str:
        if self.name == "spark":
            return f"({text} rlike {self.literal('^(?:' + pattern + ')$')})"
        return f"regexp_full_match({text}, {self.literal(pattern)})"

    def timestamp(self, text: str) -> str:
        """Text as a UTC timestamp, null when it is none (the session's zone is UTC)."""
        if self.name == "spark":
            return f"try_cast({text} as timestamp)"
        return f"(try_cast({text} as timestamptz) at time zone 'UTC')"

    def parsed(self, text: str, fmt: str) -> str:
        if fmt == "epoch_ms":
            function = "timestamp_millis" if self.name == "spark" else "epoch_ms"
            return f"{function}(try_cast(trim({text}) as bigint))"
        if fmt == "epoch_s":
            if self.name == "spark":
                return f"timestamp_seconds(try_cast(trim({text}) as double))"
            return f"cast(to_timestamp(try_cast(trim({text}) as double)) as timestamp)"
        if self.name == "spark":
            raise FeedUnavailable(f"the format '{fmt}' is read on DuckDB only (Spark: epoch_ms, epoch_s, ISO 8601)")
        return f"cast(try_strptime(trim({text}), {self.literal(fmt)}) as timestamp)"

    def timestamp_text(self, value: str) -> str:
        if self.name == "spark":
            return f"date_format({value}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')"
        return f"strftime({value}, '%Y-%m-%d %H:%M:%S.%f')"

    def split(self, text: str, separator: str) -> str:
        """A generator of the parts of a list column, for a select list."""
        if self.name == "spark":
            if any(c in separator for c in "\\]^[-"):
                raise FeedUnavailable(f"the separator {separator!r} is read on DuckDB only")
            pattern = "".join(f"[{c}]" for c in separator)
            return f"explode(split({text}, {self.literal(pattern)}))"
        return f"unnest(string_split({text}, {self.literal(separator)}))"

    def record(self, pairs: list[tuple[str, str]]) -> str:
        """A row's values as a JSON object, for the quarantine."""
        if not pairs:
            return "cast(null as string)"
        if self.name == "spark":
            return "to_json(named_struct(" + ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs) + "))"
        return "cast(to_json(struct_pack(" + ", ".join(f"{self.ident(k)} := {v}" for k, v in pairs) + ")) as string)"

    def unpivot(self, relation: str, kept: list[str], fields: list[str]) -> str:
        """One row per row of `relation` and field, as (kept..., attribute, value)."""
        if self.name == "spark":
            stacked = ", ".join(f"{self.literal(f)}, {self.ident(f)}" for f in fields)
            stack = f"stack({len(fields)}, {stacked}) as (attribute, value)"
            return f"select {', '.join(kept)}, {stack} from ({relation}) as _u"
        listed = ", ".join(self.ident(f) for f in fields)
        return f"select * from (unpivot ({relation}) on {listed} into name attribute value value)"

    def scratch(self, name: str) -> str:
        """A relation the statements compute once and read several times: a temporary table on
        DuckDB; on Spark a table of WORK_SCHEMA (a cached view's plan made Spark's planner crawl)."""
        return f"{WORK_SCHEMA}.{name}" if self.name == "spark" else name

    def materialized(self, name: str, select: str) -> list[str]:
        if self.name == "spark":
            return [f"drop table if exists {name}", self.create_table(name, select)]
        return [f"create or replace temporary table {name} as {select}"]

    def create_table(self, name: str, select: str) -> str:
        using = " using parquet" if self.name == "spark" else ""
        return f"create table {name}{using} as {select}"


DUCKDB, SPARK = Dialect("duckdb"), Dialect("spark")


def native_type(engine_type: str) -> str:
    """An engine's column type as the translation tells them apart: text, a timestamp, or other."""
    upper = engine_type.upper()
    if upper in ("STRING", "VARCHAR", "TEXT") or upper.startswith(("VARCHAR(", "CHAR")):
        return "VARCHAR"
    if upper in ("TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ"):
        return "TIMESTAMP"
    return upper


@dataclass
class FeedSql:
    """A feed as a select: its translated columns (alias -> type) over its table and joins."""

    feed: Feed
    index: int
    table: str  # schema.table, as the reasons and the raw tables' _file_name say
    views: list[tuple[str, str]]  # (name, select) of the feed's lookups, each read once: CTEs of `select`
    select: str  # every row of the table, with SKIP
    columns: dict[str, str] = field(default_factory=dict)  # translated column -> VARCHAR / TIMESTAMP / ...
    notes: list[str] = field(default_factory=list)


class Tables:
    """The sync's tables in one schema, with their columns as the engine described them."""

    def __init__(self, d: Dialect, schema: str, columns: dict[str, list[tuple[str, str]]]):
        self.d, self.schema = d, schema
        self.columns = {table: [(name, native_type(kind)) for name, kind in found] for table, found in columns.items()}

    def relation(self, table: str) -> str:
        return f"{self.d.ident(self.schema)}.{self.d.ident(table)}"

    def find(self, table: str, names: list[str], optional: bool, what: str) -> tuple[str, str] | None:
        """The first of `names` the table has (as written, then normalised), with its type."""
        by_name = {normalised_name(n): (n, t) for n, t in reversed(self.columns[table])}
        by_name |= {n: (n, t) for n, t in self.columns[table]}
        for name in names:
            found = by_name.get(name) or by_name.get(normalised_name(name))
            if found:
                return found
        if optional:
            return None
        named = " or ".join(f"'{n}'" for n in names)
        raise FeedUnavailable(f"{self.schema}.{table} has no column {named} (for {what})")

    def text(self, column: str, kind: str) -> str:
        return column if kind == "VARCHAR" else f"cast({column} as string)"


def merged_ids_view(tables: Tables, sources: list[MergedIds]) -> tuple[str, list[str]]:
    """Each id merged into another, with the id it ended up in after every merge (as the file
    route's `_merged_ids`: the first source listed wins, then the lowest id; merges of merges are
    followed for up to MAX_MERGE_STEPS steps, a loop stops where it began)."""
    d, pairs, notes = tables.d, [], []
    for rank, merged in enumerate(sources):
        if merged.folder not in tables.columns:
            continue
        try:
            found = [tables.find(merged.folder, [c], False, "merged_ids") for c in (merged.id, merged.merged_into)]
        except FeedUnavailable as missing:
            notes.append(f"no merged ids from {merged.folder}: {missing}")
            continue
        (id_name, id_kind), (into_name, into_kind) = found  # type: ignore[misc]
        ids = tables.text(d.ident(id_name), id_kind)
        into = tables.text(d.ident(into_name), into_kind)
        parts = d.split(ids, merged.split) if merged.split else ids
        pairs.append(
            f"select trim(_p.id) as id, trim(_p.merged_into) as merged_into, {rank} as _rank from "
            f"(select {parts} as id, {into} as merged_into from {tables.relation(merged.folder)}) as _p"
        )
    union = " union all ".join(pairs) or (
        "select cast(null as string) as id, cast(null as string) as merged_into, 0 as _rank where false"
    )
    steps = range(2, MAX_MERGE_STEPS + 1)
    joins = " ".join(
        f"left join _direct as _d{n} on _d{n}.id = _d{n - 1 if n > 2 else 0}.merged_into "
        f"and _d{n}.merged_into <> _d0.id"
        for n in steps
    )
    resolved = ", ".join([*(f"_d{n}.merged_into" for n in reversed(steps)), "_d0.merged_into"])
    return (
        f"with _pairs as ({union}), "
        "_ranked as (select id, merged_into, row_number() over (partition by id order by _rank, merged_into) as _n "
        "from _pairs where id <> '' and merged_into <> '' and id <> merged_into), "
        "_direct as (select id, merged_into from _ranked where _n = 1) "
        f"select {_broadcast([f'_d{n}' for n in steps])}_d0.id, coalesce({resolved}) as merged_into "
        f"from _direct as _d0 {joins}"
    ), notes


def feed_sql(tables: Tables, feed: Feed, index: int, cursor: str | None) -> FeedSql:
    """The feed's translation over its table (FeedUnavailable when it cannot be read)."""
    d = tables.d
    if feed.folder not in tables.columns:
        raise FeedUnavailable(f"{tables.schema}.{feed.folder} does not exist")
    result = FeedSql(feed, index, f"{tables.schema}.{feed.folder}", [], "")
    required = set(SOURCES[feed.into].required)
    parts, joins, used, merged_skip = [], [], set(), None
    for position, (target, mapped) in enumerate(feed.columns.items()):
        name = target.removeprefix(CUSTOM_PREFIX)
        if mapped.column is None:
            parts.append(f"{d.literal(mapped.value)} as {d.ident(name)}")
            result.columns[name] = "VARCHAR"
            continue
        found = tables.find(feed.folder, mapped.column, mapped.optional, target)
        if found is None:
            result.notes.append(f"{result.table} has no {' or '.join(mapped.column)}: {name} is empty")
            continue
        label, kind = found
        used.add(label)
        column = f"_src.{d.ident(label)}"
        if mapped.lookup:
            value, why, step_joins = _looked_up(
                tables, result, position, name, mapped, tables.text(column, kind), label
            )
            joins += step_joins
            if target in required:
                parts.append(f"{why} as {d.ident(WHY + name)}")
                result.columns[WHY + name] = "VARCHAR"
            column, kind = value, "VARCHAR"
        if target == "lead_id" and feed.merged_ids:
            column, kind = tables.text(column, kind), "VARCHAR"
            joins.append(f"left join {d.scratch(MERGED)} as _merged on _merged.id = trim({column})")
            if feed.into == "leads":
                merged_skip = (
                    "_merged.id is not null",
                    "skipped: merged into another record (merged_ids), which is the lead",
                )
            column = f"coalesce(_merged.merged_into, {column})"
        expression, kind = _expression(d, mapped, column, kind, tables)
        parts.append(f"{expression} as {d.ident(name)}")
        result.columns[name] = kind
    for label, kind, key in _unnamed_columns(tables, feed, used):
        parts.append(f"_src.{d.ident(label)} as {d.ident(key)}")
        result.columns[key] = kind
    skips = []
    if feed.when is not None:
        label, kind = tables.find(feed.folder, [feed.when], False, "when")  # type: ignore[misc]
        text = tables.text(f"_src.{d.ident(label)}", kind)
        skips.append((f"(nullif(trim({text}), '') is null)", f"have no '{label}': not read into {feed.into}"))
    for skip in feed.skip_when:
        found = tables.find(feed.folder, [skip.column], skip.optional, "skip_when")
        if found is None:
            continue
        text = f"lower(trim({tables.text(f'_src.{d.ident(found[0])}', found[1])}))"
        listed = ", ".join(d.literal(v.strip().lower()) for v in skip.values or skip.other_than or [])
        is_listed = f"coalesce({text} in ({listed}), false)"
        skips.append((is_listed if skip.values else f"(not {is_listed})", f"skipped: {skip.reason}"))
    if merged_skip:
        skips.append(merged_skip)
    reasons = " ".join(f"when {condition} then {d.literal(text)}" for condition, text in skips)
    has_cursor = cursor and any(n == cursor for n, _ in tables.columns[feed.folder])
    cursor_sql = f"cast(_src.{d.ident(cursor)} as string)" if has_cursor else "cast(null as string)"
    parts += [f"{f'case {reasons} end' if skips else 'cast(null as string)'} as {SKIP}", f"{cursor_sql} as {CURSOR}"]
    lookups = ", ".join(f"{name} as ({rows})" for name, rows in result.views)
    aliases = [join.split(" as ", 1)[1].split(" ", 1)[0] for join in joins]
    select = f"select {_broadcast(aliases)}{', '.join(parts)} from {tables.relation(feed.folder)} as _src"
    result.select = (f"with {lookups} " if lookups else "") + f"{select} {' '.join(joins)}"
    return result


def _looked_up(
    tables: Tables, result: FeedSql, position: int, name: str, mapped: ColumnMap, text: str, label: str
) -> tuple[str, str, list[str]]:
    """Each step a left join on a view of one row per key; the value, why nothing was found, joins."""
    d, value, joins = tables.d, text, []
    whys = [f"when nullif(trim({text}), '') is null then {d.literal(f'the row has no {label}')}"]
    for step_index, step in enumerate(mapped.lookup or []):
        view = f"_leadops_lookup_{position}_{step_index}"
        alias = f"_lookup_{position}_{step_index}"
        key = _lookup_key(step.ignore_case)
        if step.folder not in tables.columns:
            if name in SOURCES[result.feed.into].required:
                raise FeedUnavailable(f"{name} is looked up in {tables.schema}.{step.folder}, which does not exist")
            result.notes.append(f"{tables.schema}.{step.folder} does not exist: {name} is empty")
            rows = "select cast(null as string) as key, cast(null as string) as value where false"
        else:
            match = tables.find(step.folder, [step.match], False, f"the lookup of {name}")
            take = tables.find(step.folder, [step.take], False, f"the lookup of {name}")
            match_text = tables.text(d.ident(match[0]), match[1])  # type: ignore[index]
            take_text = tables.text(d.ident(take[0]), take[1])  # type: ignore[index]
            rows = (
                "select key, min(value) as value from ("
                f"select {key(match_text)} as key, nullif(trim({take_text}), '') as value "
                f"from {tables.relation(step.folder)}) as _l "
                "where key is not null and key <> '' and value is not null group by key"
            )
        result.views.append((view, rows))
        joins.append(f"left join {view} as {alias} on {alias}.key = {key(value)}")
        shown = f"'''' || left(trim({value}), 80) || ''''"
        whys.append(
            f"when {alias}.value is null then {d.literal(f'no {step.folder} row has {step.match} ')} || {shown}"
        )
        value = f"{alias}.value"
    return value, f"case {' '.join(whys)} end", joins


def _broadcast(aliases: list[str]) -> str:
    """Spark's hint to send the joined relations (one row per key, or merged ids) to every task
    instead of shuffling both sides: a comment to DuckDB."""
    return f"/*+ BROADCAST({', '.join(aliases)}) */ " if aliases else ""


def _lookup_key(ignore_case: bool):
    return (lambda t: f"lower(trim({t}))") if ignore_case else (lambda t: f"trim({t})")


def _unnamed_columns(tables: Tables, feed: Feed, used: set[str]) -> list[tuple[str, str, str]]:
    """As the file route: a column that normalises to a contract column is that column, and a leads
    feed keeps the others as custom fields; (label, type, key)."""
    contract = SOURCES[feed.into].column_names
    taken = {target.removeprefix(CUSTOM_PREFIX) for target in feed.columns}
    found = []
    for label, kind in tables.columns[feed.folder]:
        if label in used:
            continue
        key, suffix = normalised_name(label) or label, 2
        if feed.into != "leads" and (key not in contract or key in taken):
            continue
        base = key
        while key in taken:
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(key)
        found.append((label, kind, key))
    return found


def _expression(d: Dialect, mapped: ColumnMap, column: str, kind: str, tables: Tables) -> tuple[str, str]:
    text = tables.text(column, kind)
    if mapped.as_ == "domain":
        text = _domain(d, text)
    otherwise = f"({d.literal(mapped.prefix)} || {text})" if mapped.prefix else text
    if mapped.values:
        cases = " ".join(
            f"when {d.literal(crm.strip().lower())} then {d.literal(value)}" for crm, value in mapped.values.items()
        )
        text = f"case lower(trim({text})) {cases} else {otherwise} end"
    else:
        text = otherwise
    if not mapped.format:
        if mapped.values or mapped.as_ or mapped.prefix or kind == "VARCHAR":
            return text, "VARCHAR"
        return column, kind
    readings = [d.parsed(text, fmt) for fmt in mapped.format]
    parsed = readings[0] if len(readings) == 1 else f"coalesce({', '.join(readings)})"
    return f"coalesce({d.timestamp_text(parsed)}, {text})", "VARCHAR"


def _domain(d: Dialect, text: str) -> str:
    """As `translate.domain_sql`: a website or address as its domain, a value with no dot as it was."""
    host = f"regexp_replace(lower(trim({text})), {d.literal(DOMAIN_PREFIX)}, '')"
    host = f"regexp_replace({host}, {d.literal('[/?#:].*$')}, '')"
    return f"case when {host} like '%.%' then {host} else {text} end"


def source_tables(mapping: SourceMapping) -> tuple[str, ...]:
    """Every table the mapping reads: its feeds' and the ones read whole (lookups, merged ids)."""
    return (*mapping.folders, *mapping.lookup_folders)


def engine_schema(source_schema: str | None, mapping: SourceMapping) -> str:
    """The schema of the engine's catalog the sync wrote (--source-schema, else the mapping's)."""
    if mapping.database is None:
        raise FeedUnavailable(
            f"the source mapping {mapping.name} reads files, not a sync's tables: --source-database spark "
            "needs a mapping with a `database:` entry (such as fivetran-hubspot)"
        )
    return source_schema or mapping.database.schema_
