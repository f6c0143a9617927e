"""What training and scoring say about the split they used and the training attempt they fell back on,
on a small warehouse built here (the tables leadops.predictive reads, no dbt run)."""

from datetime import date
from pathlib import Path

import numpy as np

from leadops.config import load_config
from leadops.predictive import score, train

ROOT = Path(__file__).resolve().parents[2]
LEADS = 600


def _warehouse(con, created_at: str, as_of: str) -> None:
    """LEADS leads created at `created_at`, a quarter closed-won (more often in software), scored as of `as_of`."""
    rng = np.random.default_rng(4)
    for schema in ("intermediate", "staging", "marts"):
        con.execute(f"create schema {schema}")
    industry = rng.choice(["software", "retail", "media"], LEADS)
    won = rng.random(LEADS) < np.where(industry == "software", 0.45, 0.15)
    con.execute(
        "create table intermediate.int_leads_enriched (lead_id varchar, created_at timestamp, industry varchar, "
        "country_code varchar, seniority varchar, department varchar, lead_source varchar, employees bigint, "
        "annual_revenue double, is_personal_email boolean)"
    )
    con.executemany(
        "insert into intermediate.int_leads_enriched values (?, ?, ?, 'us', 'manager', 'sales', 'web', ?, null, false)",
        [(f"L{i:04d}", created_at, industry[i], int(rng.integers(10, 5000))) for i in range(LEADS)],
    )
    con.execute("create table intermediate.int_lead_signals (lead_id varchar, signal varchar)")
    con.execute(
        "create table staging.stg_raw__activity "
        "(lead_id varchar, event_type varchar, url varchar, occurred_at timestamp)"
    )
    con.execute("create table staging.stg_raw__conversions (lead_id varchar, stage varchar, occurred_at timestamp)")
    con.executemany(
        "insert into staging.stg_raw__conversions values (?, 'closed_won', cast(? as timestamp) + interval 60 day)",
        [(f"L{i:04d}", created_at) for i in range(LEADS) if won[i]],
    )
    con.execute(
        "create table marts.lead_scores (lead_id varchar, score decimal(12, 2), segment varchar, as_of_date date)"
    )
    con.executemany(
        "insert into marts.lead_scores values (?, ?, 'cold', ?)",
        [(f"L{i:04d}", 30.0 if industry[i] == "software" else 10.0, as_of) for i in range(LEADS)],
    )


def _config(**predictive):
    config = load_config(ROOT / "scoring.yml")
    return config.model_copy(update={"predictive": config.predictive.model_copy(update=predictive)})


def test_a_stratified_split_is_named_as_such_in_the_training_message(con, tmp_path):
    """All leads created on one day: the holdout is a stratified sample, not 'the newest leads'."""
    _warehouse(con, "2024-01-01", "2024-06-01")
    result = train(con, _config(min_conversions=50, models=["logistic_regression"]), tmp_path / "models")
    assert result.status == "trained"
    assert "stratified random split (all leads were created on one day)" in result.message
    assert "newest" not in result.message
    assert f"on {result.summary['holdout_rows']} held-out leads" in result.message


def test_a_refresh_without_a_model_dates_the_training_attempt_it_quotes(con, tmp_path):
    """The reason of a training attempt as of 2024-03-01, quoted by a run as of 2024-06-01, says it is old."""
    _warehouse(con, "2024-01-01", "2024-06-01")
    skipped = train(con, _config(), tmp_path / "models", as_of=date(2024, 3, 1))
    assert skipped.status == "skipped" and "before 2024-03-01" in skipped.message
    result = score(con, _config(), as_of=date(2024, 6, 1))
    assert result.status == "fallback"
    assert result.message.startswith(
        "no predictive model: the last training attempt, as of 2024-03-01 (92 days before 2024-06-01): "
        "training skipped: "
    )
    assert "before 2024-03-01" in result.message
