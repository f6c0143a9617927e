"""Findings on the scores as a whole (leadops.findings), as warnings in the run's output: they block
nothing, since an empty or flat lead_scores is what the data gave, not a broken build."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.findings import no_leads_scored
from orchestration.resources import as_of_for

SCORES = dg.AssetKey(["marts", "lead_scores"])


def _finding(passed: bool, description: str | None, failing: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"failing_count": failing},
    )


@dg.asset_check(asset=SCORES, name="leads_scored", description="At least one lead is scored as of the run's date.")
def leads_scored(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        finding = no_leads_scored(con, as_of_for(context))
    return _finding(finding is None, finding, 0 if finding is None else 1)


finding_checks = [leads_scored]
