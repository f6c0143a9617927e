"""Findings on the scores as a whole (leadops.findings), as warnings in the run's output: they block
nothing, since an empty or flat lead_scores, or a custom field that is not always a number, is what
the data gave, not a broken build."""

import dagster as dg

from leadops.findings import no_leads_scored, unrankable_scores, unreadable_custom_numbers
from orchestration.resources import Warehouse

SCORES = dg.AssetKey(["marts", "lead_scores"])


def _finding(passed: bool, description: str | None, failing: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"failing_count": failing},
    )


@dg.asset_check(asset=SCORES, name="leads_scored", description="At least one lead is scored as of the run's date.")
def leads_scored(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        finding = no_leads_scored(con, warehouse.as_of(context))
    return _finding(finding is None, finding, 0 if finding is None else 1)


@dg.asset_check(
    asset=SCORES,
    name="rules_rank_the_leads",
    description="The scores differ: the rules find something to rank the leads by (events or fit attributes).",
)
def rules_rank_the_leads(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        finding = unrankable_scores(con)
    return _finding(finding is None, finding and finding[1], finding[0] if finding else 0)


@dg.asset_check(
    asset=SCORES,
    name="custom_numbers_read",
    description="Every custom field value a `between` fit rule reads is a number (one that is not never matches).",
)
def custom_numbers_read(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        finding = unreadable_custom_numbers(con)
    return _finding(finding is None, finding and finding[1], finding[0] if finding else 0)


finding_checks = [leads_scored, rules_rank_the_leads, custom_numbers_read]
