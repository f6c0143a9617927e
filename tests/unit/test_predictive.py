"""The predictive model's pieces: custom fields on load, the time-ordered split, the leakage guard,
the configuration and the probability-based segment rule."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from leadops.config import ConfigError, Predictive, load_config
from leadops.contract import LEADS
from leadops.loader import load_source
from leadops.predictive import CUSTOM_PREFIX, Feature, leakage_guard, predicted_segments, time_ordered_split

ROOT = Path(__file__).resolve().parents[2]


def _config_with(tmp_path, **predictive):
    data = yaml.safe_load((ROOT / "scoring.yml").read_text())
    data["predictive"] = (data.get("predictive") or {}) | predictive
    path = tmp_path / "scoring.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _leads_file(folder, name, text):
    (folder / "leads").mkdir(parents=True, exist_ok=True)
    (folder / "leads" / name).write_text(text)


def test_custom_fields_are_kept_as_attributes_of_the_row_that_is_the_lead(con, tmp_path):
    _leads_file(
        tmp_path,
        "a.csv",
        "lead_id,email,created_at,Budget Band,crm_used,lead_source\n"
        "L1,a@x.com,2026-01-01T00:00:00Z,250k+,hubspot,webinar\n"
        "L2,bob@,2026-01-01T00:00:00Z,<10k,zoho,\n"
        "L3,c@x.com,2026-01-01T00:00:00Z,,salesforce,\n",
    )
    report = load_source(con, LEADS, tmp_path / "leads")
    assert [(f.rows_loaded, f.rows_quarantined) for f in report.files] == [(2, 1)]
    rows = con.execute("select lead_id, attribute, value from raw.lead_attributes order by 1, 2").fetchall()
    # names normalised, empty values not kept, the quarantined row's fields not kept either
    assert rows == [("L1", "budget_band", "250k+"), ("L1", "crm_used", "hubspot"), ("L3", "crm_used", "salesforce")]

    _leads_file(tmp_path, "b.csv", "lead_id,email,created_at,crm_used\nL1,a@x.com,2026-01-01T00:00:00Z,pipedrive\n")
    load_source(con, LEADS, tmp_path / "leads")
    load_source(con, LEADS, tmp_path / "leads")  # a re-run loads nothing twice
    from leadops.predictive import CURRENT_ATTRIBUTES_SQL

    current = con.execute(f"select * from ({CURRENT_ATTRIBUTES_SQL}) where lead_id = 'L1'").fetchall()
    assert current == [("L1", "crm_used", "pipedrive")]  # the later file's row is the lead, with its fields
    assert con.execute("select count(*) from raw.lead_attributes").fetchone()[0] == 4


def test_a_rejected_leads_file_keeps_none_of_its_custom_fields(con, tmp_path):
    _leads_file(tmp_path, "bad.csv", "lead_id,created_at,budget_band\nL1,2026-01-01T00:00:00Z,250k+\n")
    report = load_source(con, LEADS, tmp_path / "leads")
    assert report.files[0].status == "rejected"
    assert con.execute("select count(*) from raw.lead_attributes").fetchone()[0] == 0


def test_the_holdout_is_the_newest_leads():
    created = pd.Series(pd.date_range("2025-01-01", periods=400, freq="D"), index=[f"L{i:04d}" for i in range(400)])
    labels = pd.Series(np.arange(400) % 7 == 0, index=created.index)
    train, holdout, method = time_ordered_split(created.sample(frac=1, random_state=1), labels, 0.25, seed=3)
    assert len(holdout) == 100 and len(train) == 300
    assert created[holdout].min() > created[train].max()
    assert method.startswith("time-ordered")


def test_without_usable_dates_the_split_is_stratified_and_says_so():
    index = [f"L{i:04d}" for i in range(200)]
    created = pd.Series(pd.Timestamp("2026-03-01"), index=index)
    labels = pd.Series(np.arange(200) % 4 == 0, index=index)
    train, holdout, method = time_ordered_split(created, labels, 0.25, seed=3)
    assert "stratified" in method and "not time-ordered" in method
    assert labels[holdout].mean() == pytest.approx(labels[train].mean(), abs=0.02)
    assert set(train).isdisjoint(holdout) and len(train) + len(holdout) == 200
    again = time_ordered_split(created, labels, 0.25, seed=3)
    assert list(again[1]) == list(holdout)  # the same seed, the same split


def _guard_inputs(n=400):
    rng = np.random.default_rng(5)
    labels = pd.Series(rng.random(n) < 0.2, index=[f"L{i}" for i in range(n)])
    frame = pd.DataFrame(
        {
            "industry": rng.choice(["software", "retail"], n),
            CUSTOM_PREFIX + "renewal_flag": labels.astype(float).to_numpy(),  # an innocent name, the outcome itself
            CUSTOM_PREFIX + "lead_quality": np.where(labels, "hot", "cold"),
            CUSTOM_PREFIX + "budget_band": np.where(rng.random(n) < labels + 0.3, "250k+", "<10k"),
        },
        index=labels.index,
    )
    features = [
        Feature("industry", "categorical", "industry", "built-in"),
        Feature(CUSTOM_PREFIX + "renewal_flag", "numeric", "renewal_flag", "custom field"),
        Feature(CUSTOM_PREFIX + "lead_quality", "categorical", "lead_quality", "custom field"),
        Feature(CUSTOM_PREFIX + "budget_band", "categorical", "budget_band", "custom field"),
    ]
    return frame, labels, features


def test_the_leakage_guard_catches_a_planted_leaky_column_and_a_disposition_field():
    frame, labels, features = _guard_inputs()
    kept, excluded, warnings, aucs = leakage_guard(frame, labels, features, Predictive())
    reasons = {e.feature: e.reason for e in excluded}
    assert [f.label for f in kept] == ["industry", "budget_band"]
    assert "suspected leakage" in reasons["renewal_flag"] and aucs[CUSTOM_PREFIX + "renewal_flag"] == 1.0
    assert "after contact" in reasons["lead_quality"]
    assert len(warnings) == 2 and all("excluded" in w for w in warnings)


def test_post_contact_patterns_match_whole_words_and_each_exclusion_names_its_word():
    """`call` inside do_not_call (a consent the lead gave) or `tag` inside percentage is no post-contact field."""
    rng = np.random.default_rng(9)
    labels = pd.Series(rng.random(300) < 0.3, index=[f"L{i}" for i in range(300)])
    names = [
        "do_not_call",
        "DoNotEmail",
        "percentage_complete",
        "operating_region",
        "last_call_outcome",
        "sales_note_text",
    ]
    frame = pd.DataFrame({CUSTOM_PREFIX + n: rng.choice(["a", "b"], 300) for n in names}, index=labels.index)
    features = [Feature(CUSTOM_PREFIX + n, "categorical", n, "custom field") for n in names]
    kept, excluded, warnings, _ = leakage_guard(frame, labels, features, Predictive())
    assert [f.label for f in kept] == ["do_not_call", "DoNotEmail", "percentage_complete", "operating_region"]
    reasons = {e.feature: e.reason for e in excluded}
    assert reasons["last_call_outcome"].startswith("its name has the word 'call' (post_contact_patterns):")
    assert reasons["sales_note_text"].startswith("its name has the words 'sales_note' (post_contact_patterns):")
    assert [w.split(":")[0] for w in warnings] == [
        "custom field 'last_call_outcome' excluded",
        "custom field 'sales_note_text' excluded",
    ]


def test_allowed_and_excluded_fields_follow_the_configuration():
    frame, labels, features = _guard_inputs()
    settings = Predictive(allow_fields=["renewal_flag"], exclude_fields=["budget_band"])
    kept, excluded, _, _ = leakage_guard(frame, labels, features, settings)
    assert [f.label for f in kept] == ["industry", "renewal_flag"]
    assert {e.feature: e.reason for e in excluded}["budget_band"] == "excluded by predictive.exclude_fields"


def test_the_predictive_configuration_is_validated(tmp_path):
    config = load_config(ROOT / "scoring.yml")
    assert config.predictive.min_conversions == 100 and config.predictive.leak_auc_threshold == 0.95
    assert config.predictive.segment_rules == []
    with pytest.raises(ConfigError, match=r"predictive\.segment_rules: 'vip' is not a segment"):
        load_config(_config_with(tmp_path, segment_rules=[{"segment": "vip", "probability_at_least": 0.5}]))
    with pytest.raises(ConfigError, match=r"predictive\.min_conversions"):
        load_config(_config_with(tmp_path, min_conversions=0))


def test_a_probability_rule_raises_a_segment_never_lowers_it_nor_touches_the_disqualified(tmp_path):
    config = load_config(ROOT / "scoring.yml")
    rule_segments = pd.Series(["cold", "warm", "sql", "disqualified", "mql"])
    probability = pd.Series([0.6, 0.2, 0.01, 0.9, 0.5])
    assert list(predicted_segments(rule_segments, probability, config)) == list(rule_segments)  # no rules: no change
    path = _config_with(tmp_path, segment_rules=[{"segment": "sql", "probability_at_least": 0.5}])
    promoted = predicted_segments(rule_segments, probability, load_config(path))
    assert list(promoted) == ["sql", "warm", "sql", "disqualified", "sql"]


def test_training_is_weekly_and_on_demand_while_the_nightly_refresh_only_scores():
    from orchestration.definitions import defs

    def selected(job):
        return {k.to_user_string() for k in defs.resolve_job_def(job).asset_layer.selected_asset_keys}

    assert "marts/lead_predictions" in selected("refresh") and "models/conversion_model" not in selected("refresh")
    assert {"models/conversion_model", "marts/model_report", "marts/lead_predictions", "published/marts"} <= selected(
        "retrain"
    )
    schedule = defs.resolve_schedule_def("weekly_retrain")
    assert (schedule.job_name, schedule.cron_schedule) == ("retrain", "0 4 * * 0")


def test_loading_the_definitions_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys, orchestration.definitions; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
