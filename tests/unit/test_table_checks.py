"""The checks over whole tables: a mart's expectations see a repeatable sample of it, and a
reconciliation passes on no failing rows and fails with their count and a sample of them."""

import dagster as dg
import duckdb
import pytest

from orchestration.quality import GX_SAMPLE_ROWS, Reconciliation, reconciliation_checks, sample_query
from orchestration.resources import AS_OF_TAG, Warehouse


@dg.asset(key=["marts", "days"])
def days(warehouse: Warehouse) -> None:
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
        [days, reconciliation_checks([NOT_AFTER_AS_OF], "days_reconciliations")],
        resources={"warehouse": Warehouse(database=str(tmp_path / "warehouse.duckdb"))},
        tags={AS_OF_TAG: as_of},
        raise_on_error=False,
    )

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed == (failing == 0)
    assert evaluation.metadata["failing_count"].value == failing
    assert evaluation.metadata["sample"].value == sample


def test_a_large_mart_is_sampled_the_same_way_every_time():
    con = duckdb.connect()
    con.execute("create table scores as select 'L' || range as lead_id, range % 100 as score from range(600000)")
    sampled = f"select lead_id from ({sample_query('scores', con)}) order by 1"
    first = con.execute(sampled).fetchall()

    assert con.execute(sampled).fetchall() == first
    assert abs(len(first) - GX_SAMPLE_ROWS) < GX_SAMPLE_ROWS * 0.02


def test_a_small_mart_is_validated_whole():
    con = duckdb.connect()
    con.execute("create table scores as select range as lead_id from range(1000)")
    assert con.execute(f"select count(*) from ({sample_query('scores', con)})").fetchone() == (1000,)
