"""The checks over whole tables: a mart's expectations see a repeatable sample of it, and a
reconciliation passes on no failing rows and fails with their count and a sample of them."""

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.quality import GX_SAMPLE_ROWS, RECONCILIATIONS, Reconciliation, sample_query
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


@dg.asset(key=["marts", "lead_scores"])
def scores_of_a_lead_exported_again(warehouse: DuckDBResource) -> None:
    """L1 was created on 06-01 by its first export; a later export moved its creation past as_of, and
    the models read the latest row (stg_raw__leads), so only L2 is scored as of 06-30."""
    with warehouse.get_connection() as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.leads as select * from (values "
            "('L1', timestamp '2026-06-01 09:00:00', 1, 2), ('L1', timestamp '2026-07-05 09:00:00', 2, 2), "
            "('L2', timestamp '2026-06-10 09:00:00', 1, 3)) as t(lead_id, created_at, _batch_id, _line_number)"
        )
        con.execute("create schema marts")
        con.execute("create table marts.lead_scores as select 'L2' as lead_id")


def test_every_lead_is_scored_once_by_the_row_the_models_read(tmp_path):
    (check,) = [r for r in RECONCILIATIONS if r.name == "every_raw_lead_scored_once"]
    result = dg.materialize(
        [scores_of_a_lead_exported_again, check.build()],
        resources={"warehouse": DuckDBResource(database=str(tmp_path / "warehouse.duckdb"))},
        tags={AS_OF_TAG: "2026-06-30"},
        raise_on_error=False,
    )

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.metadata["sample"].value
