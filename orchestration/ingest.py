"""Ingest: landing files -> `raw.*` tables, one asset per source, each file checked as it lands."""

import time
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.contract import SOURCES, Source, with_event_types
from leadops.loader import CHANGING, GateFinding, SourceReport, load_feeds
from leadops.sources.mapping import Feed, SourceMapping
from leadops.validation import SuiteOutcome, validate_frame, warm_up_in_background
from orchestration.resources import LandingFolder


def landing_key(folder: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", folder])


def landing_specs(mapping: SourceMapping) -> list[dg.AssetSpec]:
    """One asset per landing folder the source mapping reads, feeding the raw tables it names."""
    specs = []
    for folder in mapping.folders:
        feeds = [feed for feed in mapping.feeds if feed.folder == folder]
        if [feed.into for feed in feeds] == [folder] and feeds[0].is_identity:
            description = (
                f"CSV or Parquet files dropped into the landing folder's `{folder}/`. {SOURCES[folder].description}"
            )
        else:
            tables = ", ".join(f"raw.{feed.into}" for feed in feeds)
            description = (
                f"CSV or Parquet files dropped into the landing folder's `{folder}/`, read into {tables} "
                f"by the source mapping `{mapping.name}`. " + " ".join(feed.description for feed in feeds)
            ).strip()
        specs.append(_landing_spec(folder, description))
    for folder in mapping.lookup_folders:
        specs.append(
            _landing_spec(
                folder,
                f"CSV or Parquet files dropped into the landing folder's `{folder}/`, read whole by the lookups "
                f"of the source mapping `{mapping.name}` (no rows of their own are loaded).",
            )
        )
    return specs


def _landing_spec(folder: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=landing_key(folder),
        description=description,
        group_name="ingest",
        kinds={"file"},
        owners=["team:data-engineering"],
    )


def _build_ingest_asset(source: Source, feeds: list[Feed], retry: dg.RetryPolicy) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", source.name])
    suite = f"raw_{source.name}"

    @dg.asset(
        key=key,
        # A feed's own folder, and the folders its lookups read whole.
        deps=[
            landing_key(folder)
            for folder in dict.fromkeys(f for feed in feeds for f in (feed.folder, *feed.lookup_folders))
        ],
        group_name="ingest",
        kinds={"duckdb", "python"},
        owners=["team:data-engineering"],
        retry_policy=retry,  # each file loads in its own transaction, so a retry is safe
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
                description=(
                    f"Great Expectations suite expectations/{suite}.json on each new file before it is committed: "
                    "an error rejects the file and blocks everything downstream in this run; a warning reports."
                ),
            ),
        ],
    )
    def ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource, landing: LandingFolder):
        gate = ExpectationGate(suite)
        with warehouse.get_connection() as con:
            report = load_feeds(con, source, Path(landing.path), feeds, gate=gate)
            total_rows = con.execute(f"select count(*) from raw.{source.name}").fetchone()[0]

        for rejected in report.with_status("rejected"):
            context.log.error(f"rejected {rejected.message}")
        for waiting in report.with_status("skipped"):
            if waiting.message == CHANGING:
                context.log.warning(f"{waiting.file_name} {waiting.message}")
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
        yield gate.check_result()

    return ingest


class ExpectationGate:
    """Runs a raw suite on each file's accepted rows inside the load, and remembers what it found."""

    def __init__(self, suite: str):
        self.suite = suite
        self.outcomes: list[tuple[str, SuiteOutcome]] = []
        self.seconds = 0.0

    def prepare(self) -> None:
        """Called by the loader when a new file is found: Great Expectations loads while DuckDB reads it."""
        warm_up_in_background(self.suite)

    def __call__(self, source: Source, file_name: str, frame) -> list[GateFinding]:
        started = time.perf_counter()
        outcome = validate_frame(frame.drop(columns="_line_number"), self.suite)
        self.seconds += time.perf_counter() - started
        self.outcomes.append((file_name, outcome))
        return [
            GateFinding(
                severity=failure.severity,
                problem=f"expectation {failure.expectation}({failure.column}) failed for {failure.unexpected_count} "
                f"of {outcome.rows_validated} rows checked, e.g. {failure.sample}",
                line=int(frame.loc[failure.indices[0], "_line_number"]) if failure.indices else None,
            )
            for failure in outcome.failures
        ]

    def check_result(self) -> dg.AssetCheckResult:
        failures = [(name, f) for name, outcome in self.outcomes for f in outcome.failures]
        has_errors = any(f.severity == "error" for _, f in failures)
        return dg.AssetCheckResult(
            check_name=self.suite,
            passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR if has_errors else dg.AssetCheckSeverity.WARN,
            description=f"{len(self.outcomes)} new file(s) validated" if self.outcomes else "no new files",
            metadata={
                "files_validated": len(self.outcomes),
                "gate_seconds": round(self.seconds, 3),
                "rows_validated": sum(o.rows_validated for _, o in self.outcomes),
                "failing_count": sum(f.unexpected_count for _, f in failures),
                "failures": dg.MetadataValue.json([{"file": name, **f.as_record()} for name, f in failures]),
            },
        )


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
        "file_reports": dg.MetadataValue.json(
            [
                {
                    "file": f.file_name,
                    "status": f.status,
                    "read": f.rows_read,
                    "loaded": f.rows_loaded,
                    "quarantined": f.rows_quarantined,
                    "message": f.message,
                    "warnings": f.warnings,
                    "notes": f.notes,
                }
                for f in report.files
            ]
        ),
        "files": dg.MetadataValue.md(
            "| file | status | read | loaded | quarantined | note |\n|---|---|---|---|---|---|\n" + files
        ),
    }


def ingest_assets(mapping: SourceMapping, retry: dg.RetryPolicy) -> list[dg.AssetsDefinition]:
    """One asset per raw table, fed by the mapping's folders; retried by `retry` (each file loads in
    its own transaction). A table no feed fills is still an asset: the models read it, empty."""
    declared = tuple(mapping.event_types)
    return [
        _build_ingest_asset(with_event_types(source, declared), mapping.feeds_into(source.name), retry)
        for source in SOURCES.values()
    ]
