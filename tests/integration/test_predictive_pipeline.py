"""Predictive scoring end to end: a refresh, then the retrain job, on generated data with custom fields
and a planted leaky column; the fallback on too few outcomes; the same data and seed give the same model
and byte-identical predictions."""

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from cli.main import main
from leadops.demo_data import generate

AS_OF = "2026-06-30"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("predictive") / "landing"
    generate(folder, leads=3000, seed=21, end_date=date.fromisoformat(AS_OF))
    # A custom field with an innocent name that is the outcome itself: only the AUC guard can catch it.
    leads = pd.read_csv(folder / "leads" / "leads.csv", dtype=str, keep_default_na=False)
    conversions = pd.read_csv(folder / "conversions" / "conversions.csv")
    won = set(conversions.loc[conversions["stage"] == "closed_won", "lead_id"])
    leads["renewal_flag"] = leads["lead_id"].isin(won).map({True: "1", False: "0"})
    leads.to_csv(folder / "leads" / "leads.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def refreshed(landing, tmp_path_factory) -> Path:
    """The warehouse after a refresh, before any training (copied by the tests that train)."""
    path = tmp_path_factory.mktemp("refreshed") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        assert main(["run", "--landing", str(landing), "--warehouse", str(path), "--as-of", AS_OF, "--quiet"]) == 0
    return path


def _copy(warehouse: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "warehouse.duckdb"
    shutil.copy(warehouse, target)
    return target


def _train(warehouse: Path, config: Path = ROOT / "scoring.yml") -> int:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        return main(["train", "--warehouse", str(warehouse), "--config", str(config)])


@pytest.fixture(scope="module")
def trained(refreshed, tmp_path_factory) -> Path:
    warehouse = _copy(refreshed, tmp_path_factory.mktemp("trained"))
    assert _train(warehouse) == 0
    return warehouse


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_tables_the_model_reads_are_where_the_refresh_built_them(refreshed):
    from dataclasses import astuple, fields

    from orchestration.predictive import relations_from_manifest

    built = set(query(refreshed, "select table_schema, table_name from information_schema.tables"))
    relations = relations_from_manifest()
    assert [f.name for f in fields(relations) if astuple(getattr(relations, f.name)) not in built] == []


def test_the_nightly_refresh_scores_without_training_and_falls_back_to_the_rules(refreshed, capsys):
    assert query(refreshed, "select count(*) from marts.lead_predictions") == [(0,)]
    assert query(refreshed, "select count(*) from marts.model_versions") == [(0,)]
    assert main(["explain", "L0000042", "--warehouse", str(refreshed)]) == 0
    assert "no model has been trained yet" in capsys.readouterr().out


def test_a_model_is_trained_versioned_and_stored_beside_the_warehouse(trained):
    ((version, status, path, rows, conversions, window_start, window_end, split),) = query(
        trained,
        "select model_version, status, model_path, training_rows, training_conversions, training_window_start, "
        "training_window_end, split_method from marts.model_versions",
    )
    assert status == "trained" and conversions >= 100 and rows > conversions
    assert Path(path) == trained.parent / "models" / version / "model.joblib" and Path(path).exists()
    assert (trained.parent / "models" / version / "report.json").exists()
    assert window_start < window_end <= date.fromisoformat(AS_OF)
    assert split.startswith("time-ordered")


def test_the_report_compares_the_model_and_the_rule_score_on_the_same_holdout(trained):
    metrics = dict(
        ((scorer, item), value)
        for scorer, item, value in query(
            trained, "select scorer, item, value from marts.model_report where section = 'metric'"
        )
    )
    for scorer in ("model", "rule_score"):
        assert 0.5 < metrics[(scorer, "roc_auc")] < 1 and 0 < metrics[(scorer, "pr_auc")] < 1
        assert 0 < metrics[(scorer, "brier")] < 0.25
    # The demo's custom fields carry intent the rules cannot see: the model must rank better.
    assert metrics[("model", "roc_auc")] > metrics[("rule_score", "roc_auc")]
    deciles = query(
        trained,
        "select scorer, sum(leads), sum(conversions), count(*) from marts.model_report "
        "where section = 'decile' group by scorer order by scorer",
    )
    assert deciles[0][1:] == deciles[1][1:] and deciles[0][3] == 10  # the same leads, ten deciles each
    assert query(trained, "select count(*) > 0 from marts.model_report where section = 'calibration'") == [(True,)]


def test_custom_fields_are_features_and_the_leakage_guard_drops_the_leaky_ones(trained):
    report = dict(query(trained, "select item, note from marts.model_report where section in ('feature', 'excluded')"))
    assert "custom field" in report["budget_band"]
    assert "after contact" in report["lead_quality"] and "after contact" in report["call_duration_sec"]
    assert "suspected leakage" in report["renewal_flag"]
    ((features,),) = query(trained, "select features from marts.model_versions")
    assert "budget_band" in features and "renewal_flag" not in features and "lead_quality" not in features


def test_every_scored_lead_gets_a_probability_a_decile_and_factors_in_words(trained, capsys):
    ((leads,),) = query(trained, "select count(*) from marts.lead_scores")
    ((rows, low, high, deciles, versions, explained),) = query(
        trained,
        "select count(*), min(conversion_probability), max(conversion_probability), count(distinct decile), "
        "count(distinct model_version), count(top_positive_factors) + count(top_negative_factors) "
        "from marts.lead_predictions",
    )
    assert rows == leads and 0 < low < high < 1 and deciles == 10 and versions == 1 and explained > 0
    # the higher decile converts more, on the leads' own history
    ((top, bottom),) = query(
        trained,
        "select avg(conversion_probability) filter (where decile = 1), "
        "avg(conversion_probability) filter (where decile = 10) from marts.lead_predictions",
    )
    assert top > 2 * bottom
    assert main(["explain", "L0000042", "--warehouse", str(trained)]) == 0
    out = capsys.readouterr().out
    assert "score = sum of the factors" in out and "conversion probability" in out and "raises it" in out


def test_the_same_data_and_seed_give_the_same_model_and_byte_identical_predictions(trained, tmp_path):
    def fingerprint(warehouse):
        rows = query(warehouse, "select * from marts.lead_predictions order by lead_id")
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    again = _copy(trained, tmp_path / "again")
    assert _train(again) == 0
    first = query(trained, "select model_version from marts.model_versions")
    assert query(again, "select model_version from marts.model_versions") == first  # replaced, not added
    assert fingerprint(again) == fingerprint(trained)


def test_too_few_conversions_skip_training_and_the_rules_decide(refreshed, tmp_path, capsys):
    data = yaml.safe_load((ROOT / "scoring.yml").read_text())
    data["predictive"] = (data.get("predictive") or {}) | {"min_conversions": 100_000}
    config = tmp_path / "scoring.yml"
    config.write_text(yaml.safe_dump(data))
    warehouse = _copy(refreshed, tmp_path / "few")
    assert _train(warehouse, config) == 0
    ((status, message),) = query(warehouse, "select status, message from marts.model_versions")
    assert status == "skipped" and "at least 100000 are needed" in message and "falls back to the rules" in message
    assert query(warehouse, "select count(*) from marts.lead_predictions") == [(0,)]
    assert not (tmp_path / "few" / "models").exists()
    capsys.readouterr()
    assert main(["explain", "L0000042", "--warehouse", str(warehouse)]) == 0
    assert "fallback to the rules" in capsys.readouterr().out
