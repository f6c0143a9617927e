"""The input contract's rules for each row, as SQL: clean, type and judge every value of a staged
file in a few set-based passes, so that no row passes through Python."""

from __future__ import annotations

import duckdb

from leadops.contract import Column, Source
from leadops.file_staging import ROW_ID
from leadops.sources.engine_sql import DUCKDB, Dialect
from leadops.sql import quote_identifier, quote_literal

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")
NON_NEGATIVE = {"employees", "annual_revenue", "amount"}


def validated_sql(
    source: Source, found: dict[str, tuple[str, str]], line_sql: str, why_missing: dict[str, str] | None = None
) -> str:
    """Each row of `_batch` with its typed values and the reason it is refused, if it is.
    `why_missing` names, for a required column a source mapping looks up, the staged column that
    says why the lookup found nothing, so that the reason names the lookup.

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
        text = raw if is_native else cleaned_text_sql(raw, native_type)
        cleaned.append(f"{text} as {quote_identifier(column.name)}")
        missing = f"'missing required {column.name}'"
        why = (why_missing or {}).get(column.name)
        if why:
            cleaned.append(f"_batch.{quote_identifier(why)} as {quote_identifier(why)}")
            missing = f"coalesce({missing} || ': ' || cleaned.{quote_identifier(why)}, {missing})"
        value, problems = column_rules(column, f"cleaned.{quote_identifier(column.name)}", is_native, missing)
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


def refuse_keys_already_loaded(con: duckdb.DuckDBPyConnection, source: Source) -> None:
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


def record_sql(found: dict[str, tuple[str, str]]) -> str:
    """A refused row as the file had it, for `raw.quarantine.record`."""
    fields = ", ".join(
        f"{quote_identifier(original)} := cast(_batch.{quote_identifier(original)} as varchar)"
        for original, _ in found.values()
    )
    return f"cast(struct_pack({fields}) as varchar)"


def cleaned_text_sql(raw: str, native_type: str) -> str:
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


def column_rules(
    column: Column, text: str, is_native: bool, missing: str | None = None, d: Dialect = DUCKDB
) -> tuple[str, list[tuple[str, str]]]:
    """The SQL for the column's typed value and, for each reason the value can be refused, the
    condition and the reason's text, given the value's cleaned text (or the value itself when the
    file already has the contract's type); `missing` is the SQL of the reason a missing value gets.
    `d` spells it for the engine: the file route's DuckDB, or Spark for a sync's schema read there
    (leadops.sources.engine_rules), so both routes refuse a value for the same reason.

    A Parquet column that already has the contract's type is taken as it is: converting 50M
    timestamps to text and back would cost more than the whole load.
    """
    name = column.name
    missing = missing or d.literal(f"missing required {name}")
    if is_native:
        return text, [(f"{text} is null", missing)] if column.required else []
    shown = f"{d.literal(name + ' ')} || {_in_quotes_sql(f'left({text}, 80)')}"
    problems = [(f"{text} is null", missing)] if column.required else []
    if column.sql_type == "VARCHAR":
        value = f"lower({text})" if name in {"email", "company_domain", "event_type", "stage"} else text
        limit = column.max_length
        problems.append(
            (
                f"length({text}) > {limit}",
                f"{d.literal(name + ' is ')} || cast(length({text}) as string) || "
                f"{d.literal(f' characters long (at most {limit})')}",
            )
        )
    elif column.sql_type == "TIMESTAMP":
        value = d.timestamp(text)
        problems.append((f"{text} is not null and {value} is null", f"{shown} || ' is not a timestamp'"))
    elif column.sql_type == "BOOLEAN":
        truthy = ", ".join(d.literal(w) for w in TRUE_WORDS)
        falsy = ", ".join(d.literal(w) for w in FALSE_WORDS)
        value = f"case when lower({text}) in ({truthy}) then true when lower({text}) in ({falsy}) then false end"
        problems.append((f"{text} is not null and {value} is null", f"{shown} || ' is not true/false'"))
    else:
        value = f"try_cast({text} as {column.sql_type.lower()})"  # bigint, double: both engines' names
        if column.sql_type == "BIGINT":  # a cast would round 12.5 to 13: refuse instead
            value = f"case when {d.full_match(text, '[+-]?[0-9]+')} then {value} end"
        kind = "a whole number" if column.sql_type == "BIGINT" else "a number"
        problems.append((f"{text} is not null and {value} is null", f"{shown} || ' is not {kind}'"))
        if name in NON_NEGATIVE:
            problems.append((f"{value} < 0", f"{shown} || ' is negative'"))
    if name == "email":
        problems.append(
            (f"{text} is not null and not {d.full_match(value, EMAIL_PATTERN)}", f"{shown} || ' is not an address'")
        )
    if column.allowed:
        allowed = ", ".join(d.literal(v) for v in column.allowed)
        problems.append(
            (
                f"{text} is not null and lower({text}) not in ({allowed})",
                f"{shown} || {d.literal(' is not one of ' + ', '.join(column.allowed))}",
            )
        )
    return value, problems
