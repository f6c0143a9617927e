"""Publishing: a read-only copy of the marts that readers query during a refresh, and segment exports.

DuckDB allows one writer per file, and a reader in another process must not open the warehouse
while a refresh writes it. So each successful refresh writes a new copy of the marts to a
temporary file and renames it over `published/leadops.duckdb` in one step: a reader has either the
previous copy or the new one, never half of one, and a failed refresh (or a failed blocking check)
never reaches this step, so the previous copy stays.

The history tables grow by one slice per as_of date, so copying them whole every night would make
the nightly cost grow with the history. Each date's slice is written once, as a Parquet file under
`published/history/<table>/`, and the copy holds views over those files.
"""

import os
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from leadops.exports import export_all_segments, published_folder
from leadops.loader import quote_literal
from orchestration.resources import TRANSIENT_RETRY, as_of_for

# One slice per as_of date (macros/incremental.sql): published per date, not copied whole.
HISTORY_TABLES = ("lead_score_history", "segment_changes")
PUBLISHED_TABLES = (
    "lead_scores",
    "segment_members",
    "lead_score_factors",
    "lead_fit",
    "lead_engagement",
    "lead_negative_signals",
    "account_rollup",
    "score_calibration",
    "lead_score_history",
    "segment_changes",
    "lead_predictions",  # empty until a model is trained; model_versions and model_report say why
    "model_versions",
    "model_report",
)


@dg.asset(
    key=dg.AssetKey(["published", "marts"]),
    deps=[dg.AssetKey(["marts", table]) for table in PUBLISHED_TABLES],
    group_name="publishing",
    kinds={"duckdb"},
    owners=["team:revops-data"],
    retry_policy=TRANSIENT_RETRY,
    description=(
        "published/leadops.duckdb: a read-only copy of the marts for sales, marketing and BI, replaced "
        "atomically at the end of each successful refresh. Query it at any hour; never the warehouse."
    ),
)
def published_marts(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    target = published_folder(warehouse.database) / "leadops.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{context.run_id}.partial")
    partial.unlink(missing_ok=True)
    with warehouse.get_connection() as con:
        slices = {table: publish_history(con, table, target.parent, as_of_for(context)) for table in HISTORY_TABLES}
        counts, segments = write_copy(con, partial, target.parent)
    os.replace(partial, target)
    context.log.info(
        f"published {sum(counts.values())} rows in {len(counts)} tables to {target}; "
        + ", ".join(f"{table}: {', '.join(written) or 'no'} slice(s) written" for table, written in slices.items())
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "rows": dg.MetadataValue.json(counts),
            "segments": dg.MetadataValue.md(
                "| segment | leads |\n|---|---|\n" + "\n".join(f"| {s} | {n} |" for s, n in segments)
            ),
        }
    )


@dg.asset(
    key=dg.AssetKey(["published", "exports"]),
    deps=[published_marts],
    group_name="publishing",
    kinds={"csv", "parquet"},
    owners=["team:revops-data"],
    retry_policy=TRANSIENT_RETRY,
    description=(
        "published/exports/<segment>.csv and .parquet for every segment and list, with the stable CRM "
        "columns of `leadops export`; spreadsheet formulas neutralised; each file replaced whole."
    ),
)
def segment_exports(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    folder = published_folder(warehouse.database)
    written = export_all_segments(folder / "leadops.duckdb", folder / "exports")
    context.log.info(f"exported {len(written)} files to {folder / 'exports'}")
    return dg.MaterializeResult(
        metadata={"folder": dg.MetadataValue.path(str(folder / "exports")), "files": dg.MetadataValue.json(written)}
    )


def write_copy(con: duckdb.DuckDBPyConnection, partial: Path, published: Path) -> tuple[dict, list]:
    """Copy the marts, and the run log for `leadops status`, into the new file `partial`; return the
    rows per table and the leads per segment. A copy that fails is removed, never left behind: a
    nightly schedule would otherwise leave a full copy of the marts on disk for every failed run."""
    try:
        con.execute(f"attach {quote_literal(str(partial))} as published")
        try:
            return _copy_marts(con, published)
        finally:
            con.execute("detach published")
    except BaseException:
        for leftover in (partial, partial.with_name(f"{partial.name}.wal")):
            leftover.unlink(missing_ok=True)
        raise


def _copy_marts(con: duckdb.DuckDBPyConnection, published: Path) -> tuple[dict, list]:
    con.execute("create schema published.marts")
    for table in PUBLISHED_TABLES:
        history = history_folder(published, table)
        if table in HISTORY_TABLES and any(history.glob("*.parquet")):
            files = quote_literal(str(history / "*.parquet"))
            con.execute(f"create view published.marts.{table} as select * from read_parquet({files})")
        else:
            con.execute(f"create table published.marts.{table} as select * from marts.{table}")
    counts = {t: con.execute(f"select count(*) from published.marts.{t}").fetchone()[0] for t in PUBLISHED_TABLES}
    # The run log and alerts as of the previous run, so `leadops status` works on this copy.
    con.execute("create schema published.ops")
    for (table,) in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'ops'"
    ).fetchall():
        con.execute(f"create table published.ops.{table} as select * from ops.{table}")
    segments = con.execute(
        "select segment, count(*) from published.marts.segment_members group by 1 order by 2 desc"
    ).fetchall()
    return counts, segments


def history_folder(published: Path, table: str) -> Path:
    return published / "history" / table


def publish_history(con: duckdb.DuckDBPyConnection, table: str, published: Path, as_of: date) -> list[str]:
    """Write the slices of `marts.<table>` that the published files lack, and this run's date (which
    a rerun or a backfill may have changed), one Parquet file per date, each replaced whole; drop
    the files of dates the table no longer has. Returns the dates written."""
    folder = history_folder(published, table)
    folder.mkdir(parents=True, exist_ok=True)
    found = con.execute(f"select distinct as_of_date from marts.{table} order by 1 desc").fetchall()
    dates = [day.isoformat() for (day,) in found]
    on_file = {path.stem for path in folder.glob("*.parquet")}
    written = [day for day in dates if day not in on_file or day == as_of.isoformat()]
    for day in written:
        out = folder / f"{day}.parquet"
        partial = out.with_name(f".{out.name}.partial")
        slice_sql = f"select * from marts.{table} where as_of_date = ?"
        con.execute(f"copy ({slice_sql}) to {quote_literal(str(partial))} (format parquet)", [day])
        os.replace(partial, out)
    for stale in on_file - set(dates):
        (folder / f"{stale}.parquet").unlink()
    return written
