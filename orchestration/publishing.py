"""Publishing: a read-only copy of the marts that readers query during a refresh, and segment exports.

DuckDB allows one writer per file, and a reader in another process must not open the warehouse
while a refresh writes it. So each successful refresh writes a new copy of the marts to a
temporary file and renames it over `published/leadops.duckdb` in one step: a reader has either the
previous copy or the new one, never half of one, and a failed refresh (or a failed blocking check)
never reaches this step, so the previous copy stays.
"""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.exports import export_all_segments, published_folder
from leadops.loader import quote_literal
from orchestration.resources import TRANSIENT_RETRY

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
        con.execute(f"attach {quote_literal(str(partial))} as published")
        try:
            con.execute("create schema published.marts")
            for table in PUBLISHED_TABLES:
                con.execute(f"create table published.marts.{table} as select * from marts.{table}")
            counts = {
                t: con.execute(f"select count(*) from published.marts.{t}").fetchone()[0] for t in PUBLISHED_TABLES
            }
            # The run log and alerts as of the previous run, so `leadops status` works on this copy.
            con.execute("create schema published.ops")
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'ops'"
            ).fetchall():
                con.execute(f"create table published.ops.{table} as select * from ops.{table}")
            segments = con.execute(
                "select segment, count(*) from published.marts.segment_members group by 1 order by 2 desc"
            ).fetchall()
        finally:
            con.execute("detach published")
    os.replace(partial, target)
    context.log.info(f"published {sum(counts.values())} rows in {len(counts)} tables to {target}")
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
