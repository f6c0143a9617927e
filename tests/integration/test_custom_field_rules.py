"""Fit rules on the CRM's own fields, through the whole graph, on X Education-like data: leads with
custom fields and conversions, no activity, none of the attributes the shipped fit rules read."""

from pathlib import Path

import duckdb
import pytest
import yaml

from cli.main import main
from leadops.settings import published_folder

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"
ROOT = Path(__file__).resolve().parents[2]
HEADER = "lead_id,email,created_at,Lead Origin,Lead Source,TotalVisits,Total Time Spent on Website,Last Activity\n"
CUSTOM_RULES = [
    {"name": "lead_add_form", "attribute": "custom.lead_origin", "equals_any": ["Lead Add Form"], "points": 15},
    {"name": "long_visits", "attribute": "custom.total_time_spent_on_website", "between": [600, 100000], "points": 10},
    {"name": "sms_sent", "attribute": "custom.last_activity", "contains_any": ["SMS"], "points": 5},
]
# lead, Lead Origin, Total Time Spent on Website, Last Activity, converted, the fit points the rules give
LEADS = [
    ("X01", "Lead Add Form", "1532", "SMS Sent", True, 30),
    ("X02", "Lead Add Form", "250", "Email Opened", True, 15),
    ("X03", "API", "1200", "SMS Sent", True, 15),
    ("X04", "Landing Page Submission", "900", "Page Visited on Website", True, 10),
    ("X05", "API", "120", "Email Opened", False, 0),
    ("X06", "Landing Page Submission", "0", "Olark Chat Conversation", False, 0),
    ("X07", "API", "n/a", "Email Bounced", False, 0),  # not a number: no range matches it
    ("X08", "Landing Page Submission", "45", "Page Visited on Website", False, 0),
    ("X09", "lead add form", "30", "Email Opened", False, 15),  # case-insensitive
    ("X10", "API", "610", "Email Link Clicked", False, 10),
    ("X11", "API", "", "Unreachable", False, 0),  # an empty value is no value
    ("X12", "Landing Page Submission", '"1,234"', "Email Opened", False, 0),  # not a number either
    ("X13", "Lead Add Form", "2100", "SMS Sent", True, 30),
    ("X14", "API", "300", "Resubscribed to emails", False, 0),
    ("X15", "API", "700", "SMS Sent", True, 15),
    ("X16", "Landing Page Submission", "12", "Smsish", False, 0),  # contains_any reads whole words
]


def _row(lead: str, origin: str, seconds: str, activity: str, day: int) -> str:
    return f"{lead},{lead.lower()}@learners.in,2026-05-{day:02d}T09:00:00Z,{origin},Google,3,{seconds},{activity}\n"


def _run(landing: Path, warehouse: Path, config: Path, capsys) -> str:
    args = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--config", str(config)]
    assert main([*args, "--as-of", AS_OF]) == 0
    captured = capsys.readouterr()
    return captured.out + captured.err


def _fit_points(warehouse: Path) -> dict[str, float]:
    with duckdb.connect(str(published_folder(warehouse) / "leadops.duckdb"), read_only=True) as con:
        rows = con.execute("select lead_id, fit_points, score from marts.lead_scores").fetchall()
    assert all(fit == score for _, fit, score in rows)  # nothing else scores: the fit points are the score
    return {lead: float(fit) for lead, fit, _ in rows}


def test_rules_on_custom_fields_score_explain_and_rank_converters_first(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("LEADOPS_PUBLISHED", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    (landing / "leads").mkdir(parents=True)
    (landing / "conversions").mkdir()
    rows = [
        _row(lead, origin, seconds, activity, 1 + i) for i, (lead, origin, seconds, activity, *_) in enumerate(LEADS)
    ]
    (landing / "leads" / "leads.csv").write_text(HEADER + "".join(rows))
    (landing / "conversions" / "won.csv").write_text(
        "lead_id,stage,occurred_at\n"
        + "".join(f"{lead},closed_won,2026-06-20T10:00:00Z\n" for lead, *_, won, _ in LEADS if won)
    )
    config = yaml.safe_load((ROOT / "scoring.yml").read_text())
    config["fit"] += CUSTOM_RULES
    (tmp_path / "scoring.yml").write_text(yaml.safe_dump(config))

    output = _run(landing, warehouse, tmp_path / "scoring.yml", capsys)

    points = _fit_points(warehouse)
    assert points == {lead: expected for lead, *_, expected in LEADS}
    converted = [points[lead] for lead, *_, won, _ in LEADS if won]
    others = [points[lead] for lead, *_, won, _ in LEADS if not won]
    assert sum(converted) / len(converted) > sum(others) / len(others)
    assert "cannot rank" not in output
    assert (
        "WARN check marts/lead_scores:custom_numbers_read failed (2 failing): 2 lead(s) have a "
        "custom.total_time_spent_on_website that is not a number (such as '1,234'), which the between rule(s) "
        "long_visits never match"
    ) in output

    assert main(["explain", "X01", "--warehouse", str(warehouse)]) == 0
    explained = capsys.readouterr().out
    factors = {line.split()[1]: line for line in explained.splitlines() if line.strip().startswith("fit ")}
    assert "custom.lead_origin = 'Lead Add Form'" in factors["lead_add_form"] and "15.00" in factors["lead_add_form"]
    assert "custom.total_time_spent_on_website = 1532" in factors["long_visits"]
    assert "custom.last_activity = 'SMS Sent'" in factors["sms_sent"]

    # A re-export that changes a custom field re-matches the lead; the leads it does not name keep their points.
    (landing / "leads" / "leads-2.csv").write_text(
        HEADER
        + _row("X01", "Lead Add Form", "100", "SMS Sent", 1)
        + _row("X05", "Lead Add Form", "120", "Email Opened", 5)
    )
    _run(landing, warehouse, tmp_path / "scoring.yml", capsys)

    assert _fit_points(warehouse) == {lead: expected for lead, *_, expected in LEADS} | {"X01": 20, "X05": 15}


def test_rules_on_a_custom_field_no_file_has_say_so_when_the_scores_are_flat(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("LEADOPS_PUBLISHED", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    (landing / "leads").mkdir(parents=True)
    rows = "".join(
        _row(lead, origin, seconds, activity, 1 + i) for i, (lead, origin, seconds, activity, *_) in enumerate(LEADS)
    )
    (landing / "leads" / "leads.csv").write_text(HEADER.replace("Lead Origin", "Origin") + rows)
    config = yaml.safe_load((ROOT / "scoring.yml").read_text())
    config["fit"] = [CUSTOM_RULES[0]]
    (tmp_path / "scoring.yml").write_text(yaml.safe_dump(config))

    output = _run(landing, warehouse, tmp_path / "scoring.yml", capsys)

    assert (
        "no fit attribute is present: the fit rules use custom.lead_origin, and no lead has a value for any of them; "
        "no loaded leads file has custom.lead_origin"
    ) in output
