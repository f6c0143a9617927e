"""Ingest: landing files -> `raw.*` tables, one asset per source, each file checked as it lands."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.contract import SOURCES, Source
from leadops.loader import SourceReport, load_source
from leadops.validation import validate_frame
from orchestration.quality import suite_check_result
from orchestration.resources import LandingFolder

# Great Expectations validates at most this many of the rows a run brought in (a repeatable sample).
GX_BATCH_ROWS = 100_000


def landing_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(["landing", source.name])


landing_specs = [
    dg.AssetSpec(
        key=landing_key(source),
        description=f"CSV or Parquet files dropped into the landing folder's `{source.name}/`. {source.description}",
        group_name="ingest",
        kinds={"file"},
    )
    for source in SOURCES.values()
]


def _build_ingest_asset(source: Source) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", source.name])
    suite = f"raw_{source.name}"

    @dg.asset(
        key=key,
        deps=[landing_key(source)],
        group_name="ingest",
        kinds={"duckdb", "python"},
        description=(
            f"Loads new `{source.name}` files into `raw.{source.name}`: each row is loaded or quarantined "
            "with a reason, a bad file is rejected whole, a file already loaded is skipped."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                "files_accepted",
                asset=key,
                description="Fails (error, not blocking) when a file was rejected whole; the others still load.",
            ),
            dg.AssetCheckSpec(
                suite,
                asset=key,
                blocking=True,
                description=f"Great Expectations suite expectations/{suite}.json on the rows this run loaded.",
            ),
        ],
    )
    def ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource, landing: LandingFolder):
        with warehouse.get_connection() as con:
            report = load_source(con, source, landing.source_folder(source.name))
            batch_frame = _new_rows_sample(con, source, report)
            total_rows = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]

        for rejected in report.with_status("rejected"):
            context.log.error(f"rejected {rejected.message}")
        context.log.info(
            f"{source.name}: {len(report.with_status('loaded'))} file(s) loaded, "
            f"{len(report.with_status('skipped'))} skipped, {len(report.with_status('rejected'))} rejected; "
            f"rows read {report.rows_read}, loaded {report.rows_loaded}, quarantined {report.rows_quarantined}"
        )
        yield dg.MaterializeResult(metadata=_report_metadata(report, total_rows))

        rejected = report.with_status("rejected")
        yield dg.AssetCheckResult(
            check_name="files_accepted",
            passed=not rejected,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failing_count": len(rejected),
                "rejected": dg.MetadataValue.json([f.message for f in rejected]),
            },
        )
        if batch_frame is None:
            yield dg.AssetCheckResult(
                check_name=suite, passed=True, metadata={"rows_validated": 0, "note": "no new rows"}
            )
        else:
            yield suite_check_result(validate_frame(batch_frame, suite), check_name=suite)

    return ingest


def _new_rows_sample(con, source: Source, report: SourceReport):
    batches = [f.batch_id for f in report.with_status("loaded")]
    if not batches:
        return None
    placeholders = ", ".join("?" for _ in batches)
    return con.execute(
        f"select * from (select * from raw.{source.name} where _batch_id in ({placeholders})) "
        f"using sample reservoir({GX_BATCH_ROWS} rows) repeatable (7)",
        batches,
    ).df()


def _report_metadata(report: SourceReport, total_rows: int) -> dict:
    files = "\n".join(
        f"| {f.file_name} | {f.status} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | {f.message} |"
        for f in report.files
    )
    return {
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "files_loaded": len(report.with_status("loaded")),
        "files_skipped": len(report.with_status("skipped")),
        "files_rejected": len(report.with_status("rejected")),
        "table_rows": total_rows,
        "files": dg.MetadataValue.md(
            "| file | status | read | loaded | quarantined | note |\n|---|---|---|---|---|---|\n" + files
        ),
    }


ingest_assets = [_build_ingest_asset(source) for source in SOURCES.values()]
