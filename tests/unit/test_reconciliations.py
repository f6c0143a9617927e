"""A reconciliation check passes on no failing rows, and fails with their count and a sample of them."""

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.quality import Reconciliation
from orchestration.resources import AS_OF_TAG


@dg.asset(key=["marts", "days"])
def days(warehouse: DuckDBResource) -> None:
    with warehouse.get_connection() as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.days as select date '2026-06-20' + range::int as day from range(10)")


NOT_AFTER_AS_OF = Reconciliation(
    name="not_after_as_of",
    asset="marts/days",
    description="No day after the as_of date.",
    failing_rows="select day, 'after as_of' as problem from marts.days where day > ?",
)


@pytest.mark.parametrize(
    ("as_of", "failing", "sample"),
    [
        ("2026-06-29", 0, "none"),
        (
            "2026-06-26",
            3,
            "| day | problem |\n| --- | --- |\n"
            + "".join(f"| 2026-06-{d} 00:00:00 | after as_of |\n" for d in (27, 28, 29)).rstrip("\n"),
        ),
    ],
)
def test_a_reconciliation_counts_its_failing_rows_and_shows_them(tmp_path, as_of, failing, sample):
    result = dg.materialize(
        [days, NOT_AFTER_AS_OF.build()],
        resources={"warehouse": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))},
        tags={AS_OF_TAG: as_of},
        raise_on_error=False,
    )

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed == (failing == 0)
    assert evaluation.metadata["failing_count"].value == failing
    assert evaluation.metadata["sample"].value == sample
