"""The input contract's row rules over a mapping's translated feeds, as the statements an engine runs
to write leadops' raw tables where a sync's tables are (see `leadops.sources.engine_sql`).

Each row of each feed is loaded into `raw.<table>` or written to `raw.quarantine` with the reason
the file route gives it (`leadops.row_rules`: a missing required value, with the lookup that found
nothing; text that is no timestamp, number, address or allowed value); the rows a feed skips are
counted by reason in `raw.source_rows`, with the rows loaded and quarantined, per table, so that
every row of a sync's table is accounted for. The custom fields of loaded leads are
`raw.lead_attributes`. Unlike files, a table has no line order and no earlier file: a key repeated
within one table keeps its row last synced (by the sync's cursor, then by its values), and an
event an earlier feed of the same run loaded counts once. The tables are rebuilt whole on each run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leadops.contract import SOURCES, Source, with_event_types
from leadops.loader import CUSTOM_VALUE_MAX_LENGTH
from leadops.row_rules import column_rules
from leadops.sources.engine_sql import (
    CURSOR,
    MERGED,
    SKIP,
    WHY,
    Dialect,
    FeedSql,
    FeedUnavailable,
    Tables,
    feed_sql,
    merged_ids_view,
)
from leadops.sources.mapping import SourceMapping

TYPES = {"VARCHAR": "string", "TIMESTAMP": "timestamp", "BIGINT": "bigint", "DOUBLE": "double", "BOOLEAN": "boolean"}
RAW_TABLES = (*SOURCES, "lead_attributes", "quarantine", "source_rows")


@dataclass
class EngineSql:
    statements: list[str]
    notes: list[str] = field(default_factory=list)  # feeds left out and why, columns left empty
    feeds: list[str] = field(default_factory=list)  # the tables whose rows were read, `hubspot.contact -> leads`


def engine_statements(
    mapping: SourceMapping, d: Dialect, schema: str, columns: dict[str, list[tuple[str, str]]], into: str = "raw"
) -> EngineSql:
    """The statements that (re)write `<into>.*` from the sync's tables in `schema`; `columns` has, for
    each table of the schema the mapping reads, its (column, engine type) pairs."""
    tables = Tables(d, schema, columns)
    out = EngineSql([f"create schema if not exists {d.ident(into)}"])
    if d.scratch("") != "":
        out.statements.append(f"create schema if not exists {d.scratch('').rstrip('.')}")
    if any(feed.merged_ids for feed in mapping.feeds):
        view, notes = merged_ids_view(tables, mapping.feeds[0].merged_ids)
        out.statements += d.materialized(d.scratch(MERGED), view)
        out.notes += notes
    validated: dict[str, list[FeedSql]] = {}
    for index, feed in enumerate(mapping.feeds):
        try:
            translated = feed_sql(tables, feed, index, mapping.database.cursor if mapping.database else None)
        except FeedUnavailable as missing:
            out.notes.append(f"{feed.label}: not read: {missing}")
            continue
        out.statements.append(
            f"create or replace temporary view {_view('translated', translated)} as {translated.select}"
        )
        kept = (
            f"select *, {_numbered(d, translated)} as _row from {_view('translated', translated)} where {SKIP} is null"
        )
        if feed.into == "leads":  # read twice, for the rows and for their custom fields
            out.statements += d.materialized(_kept(d, translated), kept)
        else:
            out.statements.append(f"create or replace temporary view {_kept(d, translated)} as {kept}")
        out.notes += translated.notes
        out.feeds.append(f"{translated.table} -> {feed.into}")
        validated.setdefault(feed.into, []).append(translated)
    written = []
    for name, source in SOURCES.items():
        source = with_event_types(source, tuple(mapping.event_types))
        feeds = validated.get(name, [])
        out.statements += [_typed_view(d, source, f) for f in feeds]
        out.statements.append(f"drop table if exists {d.ident(into)}.{d.ident(name)}")
        out.statements.append(d.create_table(f"{d.ident(into)}.{d.ident(name)}", _raw_rows(d, source, feeds, out)))
        written += [(source, f) for f in feeds]
    for name, select in (
        ("lead_attributes", _attributes(d, validated.get("leads", []))),
        ("quarantine", _quarantine(d, written)),
        ("source_rows", _source_rows(d, written)),
    ):
        out.statements.append(f"drop table if exists {d.ident(into)}.{d.ident(name)}")
        out.statements.append(d.create_table(f"{d.ident(into)}.{d.ident(name)}", select))
    return out


def _view(kind: str, feed: FeedSql) -> str:
    return f"_leadops_{kind}_{feed.feed.into}_{feed.index}"


def _kept(d: Dialect, feed: FeedSql) -> str:
    return d.scratch(_view("kept", feed)) if feed.feed.into == "leads" else _view("kept", feed)


def _judged(d: Dialect, name: str) -> str:
    return d.scratch(f"_leadops_judged_{name}")


def _numbered(d: Dialect, feed: FeedSql) -> str:
    """A kept row's number in its table: by the sync's cursor, then by its values (a table has no order)."""
    order = [CURSOR, *(d.ident(c) for c in sorted(feed.columns) if not c.startswith(WHY))]
    return f"row_number() over (order by {', '.join(f'{o} nulls first' for o in order)})"


def _typed_view(d: Dialect, source: Source, feed: FeedSql) -> str:
    """The feed's kept rows, numbered, each contract value typed with the problems it has."""
    cleaned, typed, reasons = [], [], []
    for column in source.columns:
        kind = feed.columns.get(column.name)
        raw = d.ident(column.name) if kind else "cast(null as string)"
        is_native = kind == column.sql_type == "TIMESTAMP"
        text = raw if is_native else d.strip(raw if kind in (None, "VARCHAR") else f"cast({raw} as string)")
        cleaned.append(f"{text} as {d.ident(column.name)}")
        missing = d.literal(f"missing required {column.name}")
        if WHY + column.name in feed.columns:
            why = d.ident(WHY + column.name)
            cleaned.append(f"{why} as {why}")
            missing = f"coalesce({missing} || ': ' || {why}, {missing})"
        value, problems = column_rules(column, d.ident(column.name), is_native, missing, d)
        typed.append(f"cast({value} as {TYPES[column.sql_type]}) as {d.ident(column.name)}")
        reasons += problems
    record = d.record([(c.name, d.ident(c.name)) for c in source.columns if c.name in feed.columns])
    any_problem = " or ".join(f"({condition})" for condition, _ in reasons)
    spelled_out = ", ".join(f"case when {condition} then {message} end" for condition, message in reasons)
    return (
        f"create or replace temporary view {_view('typed', feed)} as "
        f"select {', '.join(typed)}, case when {any_problem} then concat_ws('; ', {spelled_out}) end as _problems, "
        f"{record} as _record, {feed.index} as _feed, _row "
        f"from (select {', '.join(cleaned)}, _row from {_kept(d, feed)}) as cleaned"
    )


def _raw_rows(d: Dialect, source: Source, feeds: list[FeedSql], out: EngineSql) -> str:
    """The view of every kept row with its reason (null: loaded), registered as a statement; the
    select of the raw table's rows."""
    columns = [d.ident(c) for c in source.column_names]
    batch = (
        f"cast(_feed + 1 as bigint) as _batch_id, {_table_of(d, feeds)} as _file_name, "
        "cast(_row as bigint) as _line_number"
    )
    view = _judged(d, source.name)
    if not feeds:
        nulls = ", ".join(f"cast(null as {TYPES[c.sql_type]}) as {d.ident(c.name)}" for c in source.columns)
        out.statements += d.materialized(
            view,
            f"select {nulls}, cast(null as string) as _reason, "
            "cast(null as string) as _record, 0 as _feed, cast(0 as bigint) as _row where false",
        )
        return f"select {', '.join(columns)}, {batch} from {view} where false"
    typed = " union all ".join(f"select * from {_view('typed', f)}" for f in feeds)
    keys = [d.ident(c) for c in source.key]
    same_key = " and ".join(f"_t.{k} = _r.{k}" for k in keys)
    key_text = " || ', ' || ".join(
        f"{d.literal(c + ' ')} || '''' || cast(_t.{d.ident(c)} as string) || ''''" for c in source.key
    )
    reason = (
        f"coalesce(_t._problems, case when _t._row < _r._last_valid then {key_text} || ' appears again as row ' "
        f"|| cast(_r._last_valid as string) || ' of ' || {_table_of(d, feeds, '_t._feed')} "
        "|| ': the row last synced is kept' end)"
    )
    judged = (
        f"select {', '.join(f'_t.{c}' for c in columns)}, {reason} as _reason, _t._record, _t._feed, _t._row "
        f"from typed as _t left join (select {', '.join(keys)}, _feed, "
        "max(case when _problems is null then _row end) as _last_valid from typed "
        f"group by {', '.join(keys)}, _feed having count(*) > 1) as _r on {same_key} and _t._feed = _r._feed"
    )
    select = f"with typed as ({typed}) {judged}"
    if source.is_append_only and len(feeds) > 1:  # an event an earlier feed loaded counts once
        earlier = (
            f"coalesce(_t._reason, case when _t._feed > _r._first then {key_text} || ' was already loaded from ' "
            f"|| {_table_of(d, feeds, '_r._first')} || '; it counts once' end)"
        )
        select = (
            f"with typed as ({typed}), judged as ({judged}) "
            f"select {', '.join(f'_t.{c}' for c in columns)}, {earlier} as _reason, _t._record, _t._feed, _t._row "
            f"from judged as _t left join (select {', '.join(keys)}, min(_feed) as _first from judged "
            f"where _reason is null group by {', '.join(keys)}) as _r on {same_key}"
        )
    out.statements += d.materialized(view, select)
    return f"select {', '.join(columns)}, {batch} from {view} where _reason is null"


def _table_of(d: Dialect, feeds: list[FeedSql], feed_index: str = "_feed") -> str:
    if not feeds:
        return "cast(null as string)"
    cases = " ".join(f"when {f.index} then {d.literal(f.table)}" for f in feeds)
    return f"case {feed_index} {cases} end"


def _attributes(d: Dialect, feeds: list[FeedSql]) -> str:
    """The custom fields of the loaded leads: every translated column beyond the contract's."""
    contract = set(SOURCES["leads"].column_names)
    selects = []
    for feed in feeds:
        fields = [c for c in feed.columns if c not in contract and not c.startswith(WHY)]
        if not fields:
            continue
        cleaned = ", ".join(f"{d.strip(_as_text(d, f, feed.columns[f]))} as {d.ident(f)}" for f in fields)
        relation = (
            f"select _j.lead_id, cast(_j._feed + 1 as bigint) as _batch_id, {d.literal(feed.table)} as _file_name, "
            f"cast(_j._row as bigint) as _line_number, {cleaned} from {_kept(d, feed)} as _f "
            f"inner join {_judged(d, 'leads')} as _j on _j._feed = {feed.index} and _j._row = _f._row "
            "where _j._reason is null"
        )
        unpivoted = d.unpivot(relation, ["lead_id", "_batch_id", "_file_name", "_line_number"], fields)
        selects.append(
            f"select lead_id, attribute, value, _batch_id, _file_name, _line_number from ({unpivoted}) as _a "
            f"where value is not null and length(value) <= {CUSTOM_VALUE_MAX_LENGTH}"
        )
    return " union all ".join(selects) or (
        "select cast(null as string) as lead_id, cast(null as string) as attribute, cast(null as string) as value, "
        "cast(null as bigint) as _batch_id, cast(null as string) as _file_name, cast(null as bigint) as _line_number "
        "where false"
    )


def _as_text(d: Dialect, name: str, kind: str) -> str:
    return d.ident(name) if kind == "VARCHAR" else f"cast({d.ident(name)} as string)"


def _quarantine(d: Dialect, written: list[tuple[Source, FeedSql]]) -> str:
    names = dict.fromkeys(source.name for source, _ in written)
    selects = [
        f"select {d.literal(name)} as source, {_table_of(d, [f for s, f in written if s.name == name])} as file_name, "
        f"cast(_row as bigint) as line_number, _reason as reason, _record as record, "
        f"cast(_feed + 1 as bigint) as _batch_id from {_judged(d, name)} where _reason is not null"
        for name in names
    ]
    return " union all ".join(selects) or (
        "select cast(null as string) as source, cast(null as string) as file_name, "
        "cast(null as bigint) as line_number, cast(null as string) as reason, cast(null as string) as record, "
        "cast(null as bigint) as _batch_id where false"
    )


def _source_rows(d: Dialect, written: list[tuple[Source, FeedSql]]) -> str:
    """Every row of every table read, by what became of it: skipped (with its reason), loaded or
    quarantined; a table's rows read are the sum of its rows."""
    selects = []
    for source, feed in written:
        skipped = (
            f"select {d.literal(feed.table)} as source_table, {d.literal(source.name)} as into_table, "
            f"{SKIP} as outcome, count(*) as row_count from {_view('translated', feed)} "
            f"where {SKIP} is not null group by {SKIP}"
        )
        outcome = "case when _reason is null then 'loaded' else 'quarantined' end"
        judged = (
            f"select {d.literal(feed.table)} as source_table, {d.literal(source.name)} as into_table, "
            f"{outcome} as outcome, count(*) as row_count "
            f"from {_judged(d, source.name)} where _feed = {feed.index} group by {outcome}"
        )
        selects += [skipped, judged]
    return " union all ".join(selects) or (
        "select cast(null as string) as source_table, cast(null as string) as into_table, "
        "cast(null as string) as outcome, cast(0 as bigint) as row_count where false"
    )
