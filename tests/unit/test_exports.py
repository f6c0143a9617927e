import duckdb
import pytest

from leadops.exports import TOP_REASONS_CTES, neutralised


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
    ],
)
def test_text_a_spreadsheet_would_execute_is_neutralised(text, safe):
    assert duckdb.execute(f"select {neutralised('value')} from (select ? as value)", [text]).fetchone() == (safe,)


def test_null_stays_null():
    assert duckdb.execute(f"select {neutralised('cast(null as varchar)')}").fetchone() == (None,)


def test_top_reasons_are_the_three_factors_adding_most_points_ties_by_name():
    """The top-3 aggregate behind `top_reasons` (an integer key per factor row, decoded back) gives
    what ranking every factor would: points descending, equal points by name, positive points only,
    the points as the factor table has them."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.lead_score_factors (lead_id varchar, factor varchar, points decimal(12, 2))")
    con.execute(
        "insert into marts.lead_score_factors values "
        "('A', 'webinar', 15), ('A', 'demo_request', 34.03), ('A', 'ideal_industry', 15), ('A', 'account_lift', 10), "
        "('A', 'personal_email', -10), ('A', 'engagement_reset', 0), "
        "('B', 'pricing_page', 0.07), ('B', 'score_floor', 0), "
        "('C', 'personal_email', -20)"
    )
    reasons = con.execute(f"with {TOP_REASONS_CTES} select lead_id, top_reasons from reasons order by 1").fetchall()
    ranked = con.execute(
        """
        select lead_id, string_agg(factor || ' +' || cast(points as varchar), '; ' order by rank)
        from (
            select *, row_number() over (partition by lead_id order by points desc, factor) as rank
            from marts.lead_score_factors where points > 0
        )
        where rank <= 3
        group by lead_id
        order by 1
        """
    ).fetchall()
    expected = [("A", "demo_request +34.03; ideal_industry +15.00; webinar +15.00"), ("B", "pricing_page +0.07")]
    assert reasons == ranked == expected
