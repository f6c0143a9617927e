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


def _counted_finding_check(name: str, description: str, find) -> dg.AssetChecksDefinition:
    """A warning check whose finder returns None, or (how many rows, what is wrong)."""

    @dg.asset_check(asset=SCORES, name=name, description=description)
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            finding = find(con)
        return _finding(finding is None, finding and finding[1], finding[0] if finding else 0)

    return check


rules_rank_the_leads = _counted_finding_check(
    "rules_rank_the_leads",
    "The scores differ: the rules find something to rank the leads by (events or fit attributes).",
    unrankable_scores,
)
custom_numbers_read = _counted_finding_check(
    "custom_numbers_read",
    "Every custom field value a `between` fit rule reads is a number (one that is not never matches).",
    unreadable_custom_numbers,
)

finding_checks = [leads_scored, rules_rank_the_leads, custom_numbers_read]
