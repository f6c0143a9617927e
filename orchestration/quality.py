"""Quality gates over whole tables: Great Expectations suites on bounded samples of the marts, and
SQL reconciliations on the raw tables and the marts. (Each file is checked in ingest.py before it
is committed; dbt tests arrive as asset checks through dagster-dbt.)"""

from dataclasses import dataclass

import dagster as dg
import duckdb

from leadops.validation import SuiteOutcome, suite_definition, validate_frame
from orchestration.resources import Warehouse

# A mart is validated on a repeatable sample of about this many rows; full-table invariants are
# SQL (dbt tests and the reconciliation check below).
GX_SAMPLE_ROWS = 200_000
MART_SUITES = (
    "lead_fit",
    "lead_engagement",
    "lead_negative_signals",
    "account_rollup",
    "lead_scores",
    "segment_members",
)


def suite_check_result(outcome: SuiteOutcome, spec: dg.AssetCheckSpec) -> dg.AssetCheckResult:
    failures = outcome.failures
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.has_errors else dg.AssetCheckSeverity.WARN,
        description=outcome.describe(),
        metadata={
            "rows_validated": outcome.rows_validated,
            "expectations": len(outcome.outcomes),
            "failing_count": sum(f.unexpected_count for f in failures),
            "failures": dg.MetadataValue.json([f.as_record() for f in failures]),
        },
    )


def _suite_spec(suite: str) -> dg.AssetCheckSpec:
    schema, table = suite_definition(suite)["meta"]["leadops"]["asset"].split("/")
    return dg.AssetCheckSpec(
        f"{table}_expectations",
        asset=dg.AssetKey([schema, table]),
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json on a sample of {schema}.{table}.",
    )


# The six suites run in one step: dbt builds their marts in one step anyway, and a step of its own
# cost each about 50 ms of Dagster's on every night, more than the smaller marts' validation.
MART_SUITE_SPECS = {suite: _suite_spec(suite) for suite in MART_SUITES}


@dg.multi_asset_check(specs=list(MART_SUITE_SPECS.values()), name="mart_expectations", can_subset=True)
def mart_expectations(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    for suite, spec in MART_SUITE_SPECS.items():
        if spec.key not in context.selected_asset_check_keys:
            continue
        table = ".".join(spec.asset_key.path)
        with warehouse.get_connection() as con:
            frame = con.execute(sample_query(table, con)).df()
        if frame.empty:  # a mean of no rows fails as "1 unexpected, e.g. []"; leads_scored says why it is empty
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key, check_name=spec.name, passed=True, description="no rows"
            )
            continue
        yield suite_check_result(validate_frame(frame, suite), spec)


def sample_query(table: str, con: duckdb.DuckDBPyConnection) -> str:
    """The rows whose hash falls in the first GX_SAMPLE_ROWS / rows of its range: the same rows for
    the same table, whatever the threads (a reservoir sample of a 1M-row mart took 1.5 s, the
    count and this filter 0.4 s)."""
    (rows,) = con.execute(f"select count(*) from {table}").fetchone()
    if rows <= GX_SAMPLE_ROWS:
        return f"select * from {table}"
    return f"select * from {table} as sampled where hash(sampled) % {rows} < {GX_SAMPLE_ROWS}"


@dataclass(frozen=True)
class Reconciliation:
    """A full-table invariant as SQL that selects the rows breaking it (with a `problem` column)."""

    name: str
    asset: str
    description: str
    failing_rows: str  # may use ? for the as_of date
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            self.name,
            asset=dg.AssetKey(self.asset.split("/")),
            blocking=self.severity == dg.AssetCheckSeverity.ERROR,
            description=self.description,
        )

    def result(self, con: duckdb.DuckDBPyConnection, as_of) -> dg.AssetCheckResult:
        parameters = [as_of] * self.failing_rows.count("?")
        failing = con.execute(f"select count(*) from ({self.failing_rows})", parameters).fetchone()[0]
        # The sample evaluates the whole query again (0.7 s for the factor sum at a million
        # leads, 1.4 s a night over all these checks), so only when there is one to show.
        sample = con.execute(f"select * from ({self.failing_rows}) limit 5", parameters).df() if failing else None
        return dg.AssetCheckResult(
            asset_key=self.spec.asset_key,
            check_name=self.name,
            passed=failing == 0,
            severity=self.severity,
            metadata={
                "failing_count": failing,
                "sample": dg.MetadataValue.md(_markdown(sample) if failing else "none"),
            },
        )


def _markdown(frame) -> str:
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    lines = [" | ".join(frame.columns), " | ".join("---" for _ in frame.columns), *(" | ".join(r) for r in rows)]
    return "\n".join(f"| {line} |" for line in lines)


RECONCILIATIONS = [
    *[
        Reconciliation(
            name="ledger_reconciles",
            asset=f"raw/{source}",
            description="Per file: rows read = loaded + quarantined, and the tables hold exactly those rows.",
            failing_rows=f"""
                with loaded as (select _batch_id, count(*) as n from raw.{source} group by 1),
                quarantined as (select _batch_id, count(*) as n from raw.quarantine group by 1)
                select files.file_name, files.rows_read, files.rows_loaded, files.rows_quarantined,
                    coalesce(loaded.n, 0) as rows_in_table, coalesce(quarantined.n, 0) as rows_in_quarantine,
                    'counts disagree' as problem
                from raw.ingested_files as files
                left join loaded on loaded._batch_id = files.batch_id
                left join quarantined on quarantined._batch_id = files.batch_id
                where files.source = '{source}' and (
                    files.rows_read <> files.rows_loaded + files.rows_quarantined
                    or files.rows_loaded <> coalesce(loaded.n, 0)
                    or files.rows_quarantined <> coalesce(quarantined.n, 0)
                )
            """,
        )
        for source in ("leads", "accounts", "activity", "conversions")
    ],
    Reconciliation(
        name="activity_for_known_leads",
        asset="raw/activity",
        description="Events whose lead is in no leads file yet: loaded, but scored only once the lead arrives.",
        failing_rows="""
            select lead_id, count(*) as events, 'no such lead' as problem
            from raw.activity anti join raw.leads using (lead_id)
            group by lead_id order by events desc, lead_id
        """,
        severity=dg.AssetCheckSeverity.WARN,
    ),
    Reconciliation(
        name="activity_not_after_as_of",
        asset="raw/activity",
        description="Events dated after the run's as_of date: loaded, but not scored before that date.",
        failing_rows="""
            select event_id, lead_id, occurred_at, 'after as_of' as problem
            from raw.activity where cast(occurred_at as date) > ? order by occurred_at desc, event_id
        """,
        severity=dg.AssetCheckSeverity.WARN,
    ),
    Reconciliation(
        name="leads_not_created_after_as_of",
        asset="raw/leads",
        description="Leads created after the run's as_of date: loaded, but not scored before that date.",
        failing_rows="""
            select lead_id, created_at, 'created after as_of' as problem
            from raw.leads where cast(created_at as date) > ? order by created_at desc, lead_id
        """,
        severity=dg.AssetCheckSeverity.WARN,
    ),
]


def reconciliation_checks(reconciliations: list[Reconciliation], name: str) -> dg.AssetChecksDefinition:
    """The reconciliations in one step, one connection: each is a count over one table, and a step
    of its own cost each about 50 ms of Dagster's on every night, more than most counts."""

    @dg.multi_asset_check(specs=[r.spec for r in reconciliations], name=name, can_subset=True)
    def check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        as_of = warehouse.as_of(context)
        with warehouse.get_connection() as con:
            for reconciliation in reconciliations:
                if reconciliation.spec.key in context.selected_asset_check_keys:
                    yield reconciliation.result(con, as_of)

    return check


mart_checks = [mart_expectations, reconciliation_checks(RECONCILIATIONS, "raw_reconciliations")]
