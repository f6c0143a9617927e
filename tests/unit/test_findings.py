"""The reasons leadops.findings gives, on small hand-built marts."""

from datetime import date

from leadops.findings import no_leads_scored, unrankable_scores


def _marts(con, scores: list[float], events: int, countries: list[str | None]) -> None:
    for schema in ("marts", "raw", "config", "intermediate"):
        con.execute(f"create schema {schema}")
    con.execute("create table marts.lead_scores (lead_id varchar, score decimal(12, 2), segment varchar)")
    con.executemany("insert into marts.lead_scores values (?, ?, 'cold')", [(f"L{i}", s) for i, s in enumerate(scores)])
    con.execute(
        "create table marts.lead_score_factors as select lead_id, 'negative' as factor_group from marts.lead_scores"
    )
    con.execute(f"create table raw.activity as select range as event_id from range({events})")
    con.execute("create table raw.leads as select lead_id, date '2099-01-01' as created_at from marts.lead_scores")
    con.execute("create table config.fit_rules (attribute varchar)")
    con.executemany("insert into config.fit_rules values (?)", [("country",), ("seniority",), ("industry",)])
    con.execute(
        "create table intermediate.int_leads_enriched (lead_id varchar, country_code varchar, seniority varchar, "
        "industry varchar)"
    )
    con.executemany(
        "insert into intermediate.int_leads_enriched values (?, ?, 'unknown', null)",
        [(f"L{i}", c) for i, c in enumerate(countries)],
    )


def test_events_no_rule_rewards_and_attributes_no_rule_matches_are_named(con):
    _marts(con, [0, 0, 0], events=5, countries=[None, "fr", None])
    leads, why = unrankable_scores(con)
    assert leads == 3
    assert why == (
        "all 3 leads score 0 (segment cold): the rules cannot rank these leads, because none of the 5 events earns "
        "points from an engagement rule by the as_of date; no lead matches a fit rule, though some have country"
    )


def test_scores_that_differ_are_no_finding(con):
    _marts(con, [0, 10, 0], events=0, countries=[None, None, None])
    assert unrankable_scores(con) is None
    assert no_leads_scored(con, date(2026, 6, 30)) is None


def test_no_leads_scored_says_when_the_leads_are_all_after_the_date(con):
    _marts(con, [0, 0], events=0, countries=[None, None])
    con.execute("delete from marts.lead_scores")  # raw.leads keeps its two leads, created in 2099
    assert no_leads_scored(con, date(2026, 6, 30)) == (
        "no leads scored as of 2026-06-30: none of the 2 leads in raw.leads was created by 2026-06-30"
    )
