"""Publishing: a read-only copy of the marts that readers query during a refresh, and segment exports.

DuckDB allows one writer per file, and a reader in another process must not open the warehouse
while a refresh writes it. So each successful refresh writes a new copy of the marts to a
temporary file and renames it over `published/leadops.duckdb` in one step: a reader has either the
previous copy or the new one, never half of one, and a failed refresh (or a failed blocking check)
never reaches this step, so the previous copy stays.

The history tables grow by one slice per as_of date, so copying them whole every night would make
the nightly cost grow with the history. Each date's slice is written once, as a Parquet file under
`published/history/<table>/<date>/`, and the copy holds views over the list of files it was made
with (kept in its `ops.history_files`), never over whatever the folder holds: a slice that a later
refresh writes, or writes again, is a new file that only the copies made after it read. The files
that neither the new copy nor the one it replaces read are deleted once the new copy is in place,
so a reader that opened the previous copy can finish its queries.
"""

import contextlib
import os
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from leadops.exports import TOP_REASONS, TOP_REASONS_TABLE, export_all_segments
from leadops.loader import quote_literal
from leadops.sql import table_exists
from leadops.sync.changes import CRM_RECORDS, crm_records_select
from orchestration.resources import Warehouse

# One slice per as_of date (macros/incremental.sql): published per date, not copied whole.
HISTORY_TABLES = ("lead_score_history", "segment_changes")
HISTORY_FILES = "history_files"  # in the copy's ops schema: the slice files its history views read
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


PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])


def publishing_assets(retry: dg.RetryPolicy) -> list[dg.AssetsDefinition]:
    """The published copy and the segment exports, retried by `retry` (a file briefly locked)."""

    @dg.asset(
        key=PUBLISHED_MARTS,
        deps=[dg.AssetKey(["marts", table]) for table in PUBLISHED_TABLES],
        group_name="publishing",
        kinds={"duckdb"},
        owners=["team:revops-data"],
        retry_policy=retry,
        description=(
            "published/leadops.duckdb: a read-only copy of the marts for sales, marketing and BI, replaced "
            "atomically at the end of each successful refresh. Query it at any hour; never the warehouse."
        ),
    )
    def published_marts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        target = warehouse.published_folder / "leadops.duckdb"
        target.parent.mkdir(parents=True, exist_ok=True)
        with warehouse.get_connection() as con:
            counts, segments, history = publish(con, target, warehouse.as_of(context), context.run_id)
        context.log.info(
            f"published {sum(counts.values())} rows in {len(counts)} tables to {target}; "
            + ", ".join(f"{table}: {', '.join(h.written) or 'no'} slice(s) written" for table, h in history.items())
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
        deps=[PUBLISHED_MARTS],
        group_name="publishing",
        kinds={"csv", "parquet"},
        owners=["team:revops-data"],
        retry_policy=retry,
        description=(
            "published/exports/<segment>.csv and .parquet for every segment and list, with the stable CRM "
            "columns of `leadops export`; spreadsheet formulas neutralised; all files switched to together."
        ),
    )
    def segment_exports(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        folder = warehouse.published_folder
        written = export_all_segments(folder / "leadops.duckdb", folder / "exports", version=context.run_id)
        context.log.info(f"exported {len(written)} files to {folder / 'exports'}")
        return dg.MaterializeResult(
            metadata={"folder": dg.MetadataValue.path(str(folder / "exports")), "files": dg.MetadataValue.json(written)}
        )

    return [published_marts, segment_exports]


def history_folder(published: Path, table: str) -> Path:
    return published / "history" / table


@dataclass
class HistorySlices:
    """The slice files of one history table that a new copy reads (as_of date -> file, relative to
    the table's folder) and the dates this publication wrote."""

    table: str
    files: dict[str, str]
    written: list[str] = field(default_factory=list)

    def forget_written(self, published: Path) -> None:
        """Delete the files this publication wrote, for a copy that was never put in place."""
        for day in self.written:
            (history_folder(published, self.table) / self.files[day]).unlink(missing_ok=True)


def publish(
    con: duckdb.DuckDBPyConnection, target: Path, as_of: date, publication: str
) -> tuple[dict, list, dict[str, HistorySlices]]:
    """Write a new copy of the marts beside `target` and put it in place in one step; then delete
    the history slices that neither it nor the copy it replaced reads. Returns the rows per table,
    the leads per segment and each history table's slices."""
    partial = target.with_name(f".{target.name}.{publication}.partial")
    remove_residue(target, older_than=time.time())
    previous = history_files_of(target)
    history = {
        table: publish_history(con, table, target.parent, as_of, previous.get(table, {}), publication)
        for table in HISTORY_TABLES
    }
    try:
        counts, segments = write_copy(
            con, partial, target.parent, {t: h.files for t, h in history.items()}, publication
        )
    except BaseException:
        # Nothing of a copy that was never put in place stays on disk: a nightly schedule would
        # otherwise leave a full copy of the marts for every failed run.
        for leftover in (partial, partial.with_name(f"{partial.name}.wal")):
            leftover.unlink(missing_ok=True)
        for slices in history.values():
            slices.forget_written(target.parent)
        raise
    os.replace(partial, target)
    for table, slices in history.items():
        delete_unread_slices(target.parent, table, keep=[slices.files, previous.get(table, {})])
    return counts, segments, history


def remove_residue(target: Path, older_than: float) -> None:
    """Delete the partial copies (and their WALs) that publications killed on the way left beside
    `target`. One writer at a time (leadops.warehouse_lock) makes every one older than this
    publication residue; the age is checked all the same."""
    for leftover in target.parent.glob(f".{target.name}.*.partial*"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < older_than:
                leftover.unlink()


def write_copy(
    con: duckdb.DuckDBPyConnection,
    partial: Path,
    published: Path,
    history: dict[str, dict[str, str]],
    publication: str = "",
) -> tuple[dict, list]:
    """Copy the marts, the history tables as views over their slice files (`history`: table -> date
    -> file), and the run log for `leadops status`, into the new file `partial`; return the rows
    per table and the leads per segment."""
    con.execute(f"attach {quote_literal(str(partial))} as published")
    try:
        con.execute("create schema published.marts")
        for table in PUBLISHED_TABLES:
            files = history.get(table)
            if files:
                paths = ", ".join(quote_literal(str(history_folder(published, table) / f)) for f in files.values())
                con.execute(f"create view published.marts.{table} as select * from read_parquet([{paths}])")
            else:
                con.execute(f"create table published.marts.{table} as select * from marts.{table}")
        # Made once here for the exports and the CRM sync, which read this copy: each lead's top
        # reasons (an aggregate over every factor row) and the CRM record it came from.
        con.execute(TOP_REASONS_TABLE.format(target="published"))
        con.execute(f"create table published.marts.{CRM_RECORDS} as {crm_records_select(con)}")
        counts = {
            t: con.execute(f"select count(*) from published.marts.{t}").fetchone()[0]
            for t in (*PUBLISHED_TABLES, TOP_REASONS, CRM_RECORDS)
        }
        # The run log and alerts as of the previous run, so `leadops status` works on this copy;
        # without this run's own row, which says `started` until the run ends, after the copy.
        con.execute("create schema published.ops")
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'ops'"
        ).fetchall():
            mine = " where run_id <> ?" if table == "runs" else ""
            con.execute(
                f"create table published.ops.{table} as select * from ops.{table}{mine}", [publication] if mine else []
            )
        con.execute(
            f"create table published.ops.{HISTORY_FILES} (table_name varchar, as_of_date varchar, file_name varchar)"
        )
        rows = [[table, day, file] for table, files in history.items() for day, file in files.items()]
        if rows:
            con.executemany(f"insert into published.ops.{HISTORY_FILES} values (?, ?, ?)", rows)
        segments = con.execute(
            "select segment, count(*) from published.marts.segment_members group by 1 order by 2 desc"
        ).fetchall()
        return counts, segments
    finally:
        con.execute("detach published")


def history_files_of(copy: Path) -> dict[str, dict[str, str]]:
    """The slice files a published copy reads: table -> as_of date -> file. A copy made before the
    copies kept that list read every `<date>.parquet` of the table's folder."""
    if not copy.exists():
        return {}
    # Attached to an instance of its own: `duckdb.connect(path)` would hand back a connection to the
    # file that path named when this process first opened it, maybe a copy since replaced.
    with duckdb.connect() as con:
        con.execute(f"attach {quote_literal(str(copy))} as copy (read_only)")
        con.execute("use copy")
        if table_exists(con, "ops", HISTORY_FILES):
            files: dict[str, dict[str, str]] = {}
            for table, day, file in con.execute(f"select * from ops.{HISTORY_FILES}").fetchall():
                files.setdefault(table, {})[day] = file
            return files
    return {
        table: {path.stem: path.name for path in history_folder(copy.parent, table).glob("*.parquet")}
        for table in HISTORY_TABLES
    }


def publish_history(
    con: duckdb.DuckDBPyConnection, table: str, published: Path, as_of: date, previous: dict[str, str], publication: str
) -> HistorySlices:
    """The slices of `marts.<table>` for a new copy: those of the previous copy (`previous`: date ->
    file) for the dates the table still has, and a new file for each date the previous copy lacks
    and for this run's date (which a rerun or a backfill may have changed). A new file is written
    under its date's folder with this publication's name, so no copy that exists reads it."""
    folder = history_folder(published, table)
    found = con.execute(f"select distinct as_of_date from marts.{table} order by 1 desc").fetchall()
    slices = HistorySlices(table, {})
    for (day,) in found:
        day = day.isoformat()
        if day in previous and day != as_of.isoformat():
            slices.files[day] = previous[day]
            continue
        out = folder / day / f"{publication}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        slice_sql = f"select * from marts.{table} where as_of_date = ?"
        con.execute(f"copy ({slice_sql}) to {quote_literal(str(partial))} (format parquet)", [day])
        os.replace(partial, out)
        slices.files[day] = str(out.relative_to(folder))
        slices.written.append(day)
    return slices


def delete_unread_slices(published: Path, table: str, keep: list[dict[str, str]]) -> None:
    """Delete the slice files of `table` that none of the copies in `keep` reads, what a write cut
    short left, and the folders left empty."""
    folder = history_folder(published, table)
    kept = {folder / file for files in keep for file in files.values()}
    for path in [*folder.rglob("*.parquet"), *folder.rglob(".*.partial")]:
        if path not in kept:
            path.unlink()
    for day in folder.iterdir() if folder.is_dir() else []:
        if day.is_dir() and not any(day.iterdir()):
            day.rmdir()
