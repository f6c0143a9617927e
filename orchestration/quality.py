"""Quality gates on the marts: Great Expectations suites on bounded samples, and SQL
reconciliations that hold over whole tables. (Raw batches are checked in ingest.py as they land;
dbt tests arrive as asset checks through dagster-dbt.)"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.validation import SuiteOutcome, suite_definition, validate_frame

# A mart is validated on a repeatable sample of at most this many rows; full-table invariants
# are SQL (dbt tests and the reconciliation check below).
GX_SAMPLE_ROWS = 200_000
MART_SUITES = ("lead_engagement", "lead_scores", "segment_members")


def suite_check_result(outcome: SuiteOutcome, check_name: str) -> dg.AssetCheckResult:
    failures = outcome.failures
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.has_errors else dg.AssetCheckSeverity.WARN,
        description=outcome.describe(),
        metadata={
            "rows_validated": outcome.rows_validated,
            "expectations": len(outcome.outcomes),
            "failing_count": sum(f.unexpected_count for f in failures),
            "failures": dg.MetadataValue.json(
                [
                    {
                        "expectation": f.expectation,
                        "column": f.column,
                        "severity": f.severity,
                        "unexpected_count": f.unexpected_count,
                        "sample": f.sample,
                    }
                    for f in failures
                ]
            ),
        },
    )


def _suite_check(suite: str) -> dg.AssetChecksDefinition:
    schema, table = suite_definition(suite)["meta"]["leadops"]["asset"].split("/")

    @dg.asset_check(
        asset=dg.AssetKey([schema, table]),
        name=f"{table}_expectations",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json on a sample of {schema}.{table}.",
    )
    def check(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            frame = con.execute(
                f"select * from {schema}.{table} using sample reservoir({GX_SAMPLE_ROWS} rows) repeatable (7)"
            ).df()
        return suite_check_result(validate_frame(frame, suite), check_name=f"{table}_expectations")

    return check


@dg.asset_check(
    asset=dg.AssetKey(["marts", "segment_members"]),
    blocking=True,
    description="Every lead in raw.leads (created by as_of) has exactly one score and one segment.",
)
def every_lead_scored_once(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        missing, duplicated, unsegmented = con.execute(
            """
            with scores as (select lead_id, as_of_date from marts.lead_scores),
            as_of as (select max(as_of_date) as as_of_date from scores),
            expected as (
                select distinct lead_id from raw.leads, as_of
                where cast(created_at as date) <= as_of.as_of_date
            )
            select
                (select count(*) from expected anti join scores using (lead_id)),
                (select count(*) from (select lead_id from scores group by 1 having count(*) > 1)),
                (select count(*) from scores anti join marts.segment_members using (lead_id))
            """
        ).fetchone()
        samples = con.execute(
            """
            select lead_id from raw.leads anti join marts.lead_scores using (lead_id)
            where cast(created_at as date) <= (select max(as_of_date) from marts.lead_scores)
            order by lead_id limit 5
            """
        ).fetchall()
    failing = missing + duplicated + unsegmented
    return dg.AssetCheckResult(
        passed=failing == 0,
        metadata={
            "failing_count": failing,
            "leads_without_score": missing,
            "leads_scored_twice": duplicated,
            "leads_without_segment": unsegmented,
            "sample": dg.MetadataValue.json([row[0] for row in samples]),
        },
    )


mart_checks = [_suite_check(suite) for suite in MART_SUITES] + [every_lead_scored_once]
