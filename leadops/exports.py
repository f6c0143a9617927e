"""Segment lists as files a CRM or a spreadsheet imports safely.

Columns are stable and documented (EXPORT_COLUMNS). Text that a spreadsheet would run as a
formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with a single quote,
the OWASP CSV-injection advice, so `=HYPERLINK(...)` in a name arrives as text.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from leadops.loader import quote_literal
from leadops.sql import table_exists

EXPORT_COLUMNS = {
    "lead_id": "CRM identifier of the lead",
    "email": "address, lower-cased",
    "first_name": "as in the CRM",
    "last_name": "as in the CRM",
    "company": "company name",
    "score": "0..100",
    "grade": "fit grade and engagement tier, e.g. A1",
    "segment": "the lead's segment",
    "top_reasons": "the three factors that added most points, e.g. 'demo_request +40.00; ideal_industry +15.00'",
    "as_of_date": "the date the score was computed as of",
}
FORMATS = ("csv", "parquet")
FORMULA_START = r"^[=+\-@\t\r]"
EXPORT_VERSIONS = ".exports"  # beside published/exports, the link to the current version
TEXT_COLUMNS = ("email", "first_name", "last_name", "company", "top_reasons")


def neutralised(expression: str) -> str:
    """SQL that makes a text value safe to open in a spreadsheet."""
    return (
        f"case when regexp_matches({expression}, {quote_literal(FORMULA_START)}) "
        f"then '''' || {expression} else {expression} end"
    )


# Each lead's three factors that added most points (on equal points, the first name alphabetically).
# A top-3 aggregate over one integer key per factor row, the points in cents then the name's place,
# instead of ranking every row in a window: 1.5 s instead of 3.6 s over the 13.5M factor rows of a
# million leads. The key is decoded back into the name and the points it was made from.
TOP_REASONS_CTES = """
    positive as (
        select lead_id, factor, points from marts.lead_score_factors where points > 0
    ),
    names as (
        select factor, row_number() over (order by factor desc) as name_place
        from (select distinct factor from positive)
    ),
    key_space as (
        select count(*) + 1 as places, map(list(name_place), list(factor)) as factor_at from names
    ),
    top_keys as (
        select
            positive.lead_id,
            max(cast(positive.points * 100 as bigint) * key_space.places + names.name_place, 3) as reason_keys
        from positive
        inner join names on positive.factor = names.factor
        cross join key_space
        group by positive.lead_id
    ),
    reasons as (
        select
            top_keys.lead_id,
            array_to_string(
                list_transform(
                    top_keys.reason_keys,
                    lambda reason_key: key_space.factor_at[reason_key % key_space.places] || ' +'
                        || cast(cast((reason_key // key_space.places) / 100 as decimal(12, 2)) as varchar)
                ),
                '; '
            ) as top_reasons
        from top_keys
        cross join key_space
    )
"""


TOP_REASONS = "lead_top_reasons"  # marts.lead_top_reasons: each lead's top_reasons, made once per publication
TOP_REASONS_TABLE = f"""
    create table {{target}}.marts.{TOP_REASONS} as
    with {TOP_REASONS_CTES}
    select lead_id, top_reasons from reasons order by lead_id
"""


def reasons_ctes(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> str:
    """The CTEs that end in `reasons (lead_id, top_reasons)`: the publication's table when the
    copy has one, else computed from the factor rows (a copy from before the table, or tests)."""
    if table_exists(con, "marts", TOP_REASONS, catalog):
        prefix = f"{catalog}." if catalog else ""
        return f"reasons as (select lead_id, top_reasons from {prefix}marts.{TOP_REASONS})"
    return TOP_REASONS_CTES if not catalog else TOP_REASONS_CTES.replace("marts.", f"{catalog}.marts.")


def export_query(segment: str | None, with_list: bool = False, reasons: str = TOP_REASONS_CTES) -> tuple[str, list]:
    """The export rows of one segment or list (every membership when `segment` is None; `with_list`
    adds the membership as `_list`, for writing every segment from one computation)."""
    columns = {
        "lead_id": "scores.lead_id",
        "email": "scores.email",
        "first_name": "scores.first_name",
        "last_name": "scores.last_name",
        "company": "scores.company_name",
        "score": "cast(scores.score as double)",
        "grade": "scores.score_label",
        "segment": "scores.segment",
        "top_reasons": "coalesce(reasons.top_reasons, '')",
        "as_of_date": "scores.as_of_date",
    }
    select = ",\n    ".join(
        f"{neutralised(expression) if name in TEXT_COLUMNS else expression} as {name}"
        for name, expression in columns.items()
    )
    sql = f"""
        with {reasons}
        select
            {select}{", members.segment as _list" if with_list else ""}
        from marts.segment_members as members
        join marts.lead_scores as scores using (lead_id)
        left join reasons using (lead_id)
        {"where members.segment = ?" if segment else ""}
        order by scores.score desc, scores.lead_id
    """
    return sql, [segment] if segment else []


def segment_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return con.execute(
        "select segment, count(*) from marts.segment_members group by segment "
        "order by min(list_type), min(score) desc, segment"
    ).fetchall()


def export_segment(con: duckdb.DuckDBPyConnection, segment: str, file_format: str, out: Path) -> int:
    """Write one segment to `out` (replaced whole, never half-written); return the row count."""
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {file_format!r}")
    known = dict(segment_counts(con))
    if segment not in known:
        raise ValueError(f"no segment {segment!r}; the segments are {', '.join(known) or 'none yet'}")
    sql, parameters = export_query(segment, reasons=reasons_ctes(con))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    options = "format csv, header true" if file_format == "csv" else "format parquet"
    con.execute(f"copy ({sql}) to {quote_literal(str(partial))} ({options})", parameters)
    os.replace(partial, out)
    return known[segment]


def export_all_segments(published: Path, folder: Path, version: str | None = None) -> dict[str, int]:
    """Every segment and list as CSV and Parquet, as one version that `folder` switches to whole;
    returns rows per file name.

    `folder` (published/exports) is a link to `.exports/<version>/` beside it: the files are written
    into a folder of their own and the link is replaced in one step, as the published copy is, so a
    crash on the way leaves the previous version whole instead of files from two. The version before
    stays for readers that followed the link before the swap; older ones and any a crash left are
    deleted. The rows (with each lead's top reasons, an aggregate over all score factors) are
    computed once and then filtered per segment, not recomputed for every file."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # a retried step writes a version of its own
    version = f"{stamp}-{version}" if version else stamp
    versions = folder.parent / EXPORT_VERSIONS
    staging = versions / f"{version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        written = _write_exports(published, staging)
        staging.rename(versions / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = _switch(folder, versions / version)
    for old in versions.iterdir():
        if old.name not in {version, previous}:
            shutil.rmtree(old, ignore_errors=True)
    return written


def _write_exports(published: Path, folder: Path) -> dict[str, int]:
    written = {}
    with duckdb.connect() as con:
        con.execute(f"attach {quote_literal(str(published))} as published (read_only)")
        con.execute("use published")
        segments = segment_counts(con)
        sql, _ = export_query(None, with_list=True, reasons=reasons_ctes(con))
        con.execute(f"create temp table _export_rows as {sql}")
        for segment, rows in segments:
            for file_format in FORMATS:
                out = folder / f"{segment}.{file_format}"
                options = "format csv, header true" if file_format == "csv" else "format parquet"
                con.execute(
                    "copy (select * exclude (_list) from temp.main._export_rows where _list = ? "
                    f"order by score desc, lead_id) to {quote_literal(str(out))} ({options})",
                    [segment],
                )
                written[out.name] = rows
    return written


def _switch(link: Path, target: Path) -> str | None:
    """Point `link` at `target` in one step; return the name of the version it pointed at."""
    previous = None
    if link.is_symlink():
        previous = Path(os.readlink(link)).name
    elif link.is_dir():  # exports written in place by a leadops from before versions: moved aside once
        previous = f"before-{target.name}"
        link.rename(target.parent / previous)
    temporary = link.with_name(f".{link.name}.{target.name}.link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.relative_to(link.parent))
    os.replace(temporary, link)
    return previous
