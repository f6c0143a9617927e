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
