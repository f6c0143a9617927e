"""Are the contenders' final tables equal? lead_scores on (lead_id, score, grade, segment, is_hot) and
segment_members on its (lead_id, segment) pairs, every contender against the reference."""

from __future__ import annotations

from pathlib import Path

import duckdb

SAMPLE_ROWS = 5
SCORE_COLUMNS = "lead_id, cast(score as decimal(12, 2)) as score, fit_grade, segment, is_hot"


def relation(con: duckdb.DuckDBPyConnection, name: str, out: Path, table: str) -> str:
    """The contender's table: `marts.<table>` of its warehouse file, or `<table>.parquet` in its folder."""
    if out.suffix == ".duckdb":
        alias = f"result_{name}"
        con.execute(f"attach if not exists '{out}' as {alias} (read_only)")
        return f"{alias}.marts.{table}"
    return f"read_parquet('{out / (table + '.parquet')}')"


def row_counts(con: duckdb.DuckDBPyConnection, name: str, out: Path) -> dict[str, int]:
    return {
        table: con.execute(f"select count(*) from {relation(con, name, out, table)}").fetchone()[0]
        for table in ("lead_scores", "segment_members")
    }


def differences(con: duckdb.DuckDBPyConnection, reference: tuple[str, Path], other: tuple[str, Path]) -> dict:
    """Rows of either side that the other lacks, counted, with a few of them shown."""
    found = {}
    for table, columns in (("lead_scores", SCORE_COLUMNS), ("segment_members", "lead_id, segment")):
        left = f"select {columns} from {relation(con, *reference, table)}"
        right = f"select {columns} from {relation(con, *other, table)}"
        only = {
            f"only_in_{reference[0]}": f"({left}) except all ({right})",
            f"only_in_{other[0]}": f"({right}) except all ({left})",
        }
        for side, query in only.items():
            (count,) = con.execute(f"select count(*) from ({query})").fetchone()
            if count:
                sample = con.execute(f"select * from ({query}) order by lead_id limit {SAMPLE_ROWS}").fetchall()
                found[f"{table}.{side}"] = {"rows": count, "sample": [list(map(str, row)) for row in sample]}
    return found


def compare_all(results: dict[str, Path]) -> tuple[dict[str, dict[str, int]], dict[str, dict]]:
    """Row counts of every contender, and the differences of each from the first one (the reference)."""
    with duckdb.connect() as con:
        counts = {name: row_counts(con, name, out) for name, out in results.items()}
        names = list(results)
        reference = (names[0], results[names[0]])
        mismatches = {name: differences(con, reference, (name, results[name])) for name in names[1:]}
    return counts, {name: found for name, found in mismatches.items() if found}


def one_pass_gap(scores: Path, warehouse: Path) -> dict | None:
    """How far duckdb_one_pass's scores (`scores`, its Parquet file) are from leadops_full's (its
    warehouse file). They differ by design where the reference leaves the model out (negative
    signals, the account lift, escapes), so besides the scores themselves the reference is held to
    the parts it computes, leadops_full's fit plus engagement clamped to 0..100: there, the leads
    that still differ should be those whose engagement an escape wiped, and no other."""
    if not warehouse.exists():
        return None
    parts = "cast(least(100, greatest(0, lead.fit_points + lead.engagement_points)) as decimal(12, 2))"
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as leadops (read_only)")
        row = con.execute(
            f"""select
                count(*),
                count(*) filter (where one.lead_id is null or lead.lead_id is null),
                count(*) filter (where one.score is distinct from lead.score),
                max(abs(coalesce(one.score, 0) - coalesce(lead.score, 0))),
                count(*) filter (where one.score is distinct from {parts}),
                max(abs(coalesce(one.score, 0) - coalesce({parts}, 0))),
                count(*) filter (where one.score is distinct from {parts} and escaped.lead_id is not null)
            from read_parquet('{scores}') as one
            full join leadops.marts.lead_scores as lead
                on one.lead_id = lead.lead_id
            left join leadops.intermediate.int_engagement_resets as escaped
                on coalesce(one.lead_id, lead.lead_id) = escaped.lead_id"""
        ).fetchone()
    leads, one_side, differ, largest, parts_differ, parts_largest, escaped = row
    return {
        "leads": leads,
        "only_on_one_side": one_side,
        "differ": differ,
        "largest_gap": float(largest or 0),
        "parts_differ": parts_differ,
        "parts_largest_gap": float(parts_largest or 0),
        "parts_differ_after_an_escape": escaped,
    }
