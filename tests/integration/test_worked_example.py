"""Seed 001's worked example, as a configuration, through the real pipeline: 15, 40 and 80 points."""

import textwrap

import duckdb
import pytest

from cli.main import main

pytestmark = pytest.mark.integration

CONFIG = textwrap.dedent(
    """
    version: 1
    title_keywords:
      seniority:
        - {value: executive, keywords: [founder]}
        - {value: individual_contributor, keywords: [analyst]}
      department: []
    lists:
      personal_email_domains: [gmail.com]
    fit:
      - {name: ideal_industry, attribute: industry, equals_any: [software], points: 40}
      - {name: founder, attribute: job_title, contains_any: [founder], points: 25}
      - {name: non_manager, attribute: seniority, equals_any: [individual_contributor], points: -15}
    engagement:
      total_cap: 100
      rules:
        - {name: newsletter_subscriber, event_type: newsletter_subscribe, points: 10}
        - {name: webinar_registrant, event_type: webinar_registration, points: 15}
    negative:
      newsletters_ignored_count: 5
      rules:
        - {name: gmail_address, signal: personal_email, points: -10}
        - {name: ignores_newsletters, signal: newsletters_ignored, points: -10}
    grades: [{label: A, min_points: 60}, {label: B, min_points: 40}, {label: C}]
    tiers: [{label: "1", min_points: 10}, {label: "2"}]
    segments:
      thresholds: [{label: high, min_points: 80}, {label: medium, min_points: 40}, {label: low}]
    """
)


def test_the_seed_worked_example(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    for source in ("accounts", "leads", "activity", "conversions"):
        (landing / source).mkdir(parents=True)
    (landing / "accounts" / "accounts.csv").write_text("company_domain,industry\nacme.com,software\n")
    (landing / "leads" / "leads.csv").write_text(
        "lead_id,email,created_at,job_title,company_domain\n"
        "low,lou@gmail.com,2026-01-05,Data Analyst,acme.com\n"
        "medium,meg@acme.com,2026-01-05,Marketing Manager,acme.com\n"
        "high,hal@acme.com,2026-01-05,Founder,acme.com\n"
    )
    events = ["event_id,lead_id,event_type,occurred_at,campaign_id"]
    events.append("s1,medium,newsletter_subscribe,2026-01-06,")
    events += [
        f"n{week},medium,email_delivered,2026-0{1 + week // 4}-{10 + week % 4:02d},nl-{week}" for week in range(6)
    ]
    events.append("w1,high,webinar_registration,2026-02-01,")
    (landing / "activity" / "events.csv").write_text("\n".join(events) + "\n")
    (landing / "conversions" / "conversions.csv").write_text("lead_id,stage,occurred_at\nhigh,opportunity,2026-02-10\n")
    config = tmp_path / "scoring.yml"
    config.write_text(CONFIG)
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    code = main(
        [
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--config",
            str(config),
            "--as-of",
            "2026-03-01",
        ]
    )

    assert code == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        scores = con.execute("select lead_id, score::double, segment from marts.lead_scores order by score").fetchall()
        factors = con.execute(
            "select lead_id, factor, points::double from marts.lead_score_factors order by lead_id, factor"
        ).fetchall()
    assert scores == [("low", 15.0, "low"), ("medium", 40.0, "medium"), ("high", 80.0, "high")]
    assert factors == [
        ("high", "founder", 25.0),
        ("high", "ideal_industry", 40.0),
        ("high", "webinar_registrant", 15.0),
        ("low", "gmail_address", -10.0),
        ("low", "ideal_industry", 40.0),
        ("low", "non_manager", -15.0),
        ("medium", "ideal_industry", 40.0),
        ("medium", "ignores_newsletters", -10.0),
        ("medium", "newsletter_subscriber", 10.0),
    ]
