"""Scoring: every scored lead's probability with the latest model, into marts.lead_predictions.

Each prediction carries the factors that move it most, in a salesperson's words, and the segment
the probability raises the lead to (`predictive.segment_rules`). Without a trained model the table
is left empty and the rules decide; `leadops explain` says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from leadops.config import Predictive, ScoringConfig
from leadops.model_history import last_training_attempt
from leadops.predictive.features import Feature, data_as_of, feature_matrix, slug
from leadops.predictive.relations import DEFAULT_RELATIONS, Relations
from leadops.predictive.storage import ensure_model_tables, latest_model, replace_predictions
from leadops.predictive.tables import LEAD_PREDICTIONS, MODEL_VERSIONS
from leadops.sql import table_exists

MIN_FACTOR_LOG_ODDS = 0.05  # smaller effects are not worth a salesperson's attention
FACTORS_SHOWN = 3


@dataclass
class ScoringResult:
    status: str  # model | fallback
    model_version: str | None
    rows: int
    message: str
    deciles: list[tuple[int, int, float]] = field(default_factory=list)


def score(
    con: duckdb.DuckDBPyConnection,
    config: ScoringConfig,
    as_of: date | None = None,
    relations: Relations = DEFAULT_RELATIONS,
) -> ScoringResult:
    """Score every lead of marts.lead_scores with the latest model into marts.lead_predictions (replaced
    in one transaction). Without a trained model the table is left empty and the rules decide."""
    ensure_model_tables(con)
    if not con.execute(f"select count(*) from {relations.lead_scores}").fetchone()[0]:
        # The leads_scored check says why, once.
        replace_predictions(con, None)
        return ScoringResult("no leads", None, 0, "no leads scored: nothing to predict")
    as_of = as_of or data_as_of(con, relations)
    found = latest_model(con)
    if found is None:
        why = (
            last_training_attempt(con, as_of)
            or "no model has been trained yet (run `leadops train` or the retrain job)"
        )
        replace_predictions(con, None)
        return ScoringResult("fallback", None, 0, f"no predictive model: {why}")
    import joblib

    version, path = found
    predictions = _predictions(con, joblib.load(path), version, config, as_of, relations)
    replace_predictions(con, predictions)
    deciles = [
        (int(d), int(n), float(p))
        for d, n, p in predictions.groupby("decile")["conversion_probability"].agg(["count", "mean"]).itertuples()
    ]
    return ScoringResult("model", version, len(predictions), f"scored {len(predictions)} leads with {version}", deciles)


def _predictions(
    con: duckdb.DuckDBPyConnection, bundle: dict, version: str, config: ScoringConfig, as_of: date, relations: Relations
) -> pd.DataFrame:
    """The rows of marts.lead_predictions: each lead seen as of the day after `as_of`, everything known."""
    features: list[Feature] = bundle["features"]
    settings = Predictive.model_validate(bundle["predictive"])
    con.execute(
        "create or replace temp table _pit as select lead_id, cast(cast(? as date) + 1 as timestamp) as cutoff "
        f"from {relations.lead_scores}",
        [as_of],
    )
    frame = feature_matrix(con, features, settings, _hot_urls(features, config), relations)
    names = [f.name for f in features]
    model = bundle["model"]
    probability = model.predict_proba(frame[names])[:, 1]
    positive, negative = _factors(model, frame[names], probability, features, bundle["baselines"])
    scores = con.execute(f"select lead_id, score, segment from {relations.lead_scores}").df()
    scores = scores.set_index("lead_id").loc[frame.index]
    ids = frame.index.to_numpy()
    order = np.lexsort((ids, -probability))
    decile = np.empty(len(order), dtype=int)
    decile[order] = np.arange(len(order)) * 10 // max(len(order), 1) + 1
    columns = {
        "lead_id": ids,
        "as_of_date": as_of,
        "conversion_probability": np.round(probability, 6),
        "decile": decile,
        "model_version": version,
        "top_positive_factors": positive,
        "top_negative_factors": negative,
        "rule_score": scores["score"].to_numpy(),
        "rule_segment": scores["segment"].to_numpy(),
        "segment": predicted_segments(scores["segment"], pd.Series(probability, index=frame.index), config),
    }
    return pd.DataFrame(columns)[LEAD_PREDICTIONS.column_names]


def _hot_urls(features: list[Feature], config: ScoringConfig) -> list[str]:
    """The URLs the model was trained on, whatever the configuration says now."""
    slugs = {f.name.removeprefix("n_views_") for f in features if f.name.startswith("n_views_")}
    return [url for url in config.hot.trigger_urls if slug(url) in slugs] + [
        "/" + name for name in sorted(slugs - {slug(u) for u in config.hot.trigger_urls})
    ]


def predicted_segments(rule_segment: pd.Series, probability: pd.Series, config: ScoringConfig) -> np.ndarray:
    """The rule segment, raised by `predictive.segment_rules` (e.g. sql when the probability is at least
    p); never for a disqualified lead, never lowered. With no rules it is the rule segment."""
    rank = {band.label: position for position, band in enumerate(config.segments.thresholds)}
    result = rule_segment.to_numpy(dtype=object).copy()
    for rule in config.predictive.segment_rules:
        target = rank[rule.segment]
        current = np.array([rank.get(s, -1) if s != "disqualified" else -1 for s in result])
        promote = (probability.to_numpy() >= rule.probability_at_least) & (current > target)
        result[promote] = rule.segment
    return result


def _factors(
    model, frame: pd.DataFrame, probability: np.ndarray, features: list[Feature], baselines: dict
) -> tuple[list[str | None], list[str | None]]:
    """Per lead, how much each feature moves the log-odds against a typical lead (the feature set to its
    training median or most common value, the rest unchanged), described in words."""
    clipped = np.clip(probability, 1e-9, 1 - 1e-9)
    logit = np.log(clipped / (1 - clipped))
    effects = np.zeros((len(frame), len(features)))
    for j, feature in enumerate(features):
        typical = frame.copy()
        typical[feature.name] = baselines[feature.name]
        p = np.clip(model.predict_proba(typical)[:, 1], 1e-9, 1 - 1e-9)
        effects[:, j] = logit - np.log(p / (1 - p))
    values = frame.to_numpy(dtype=object)
    positive, negative = [], []
    for i in range(len(frame)):
        order = np.argsort(-effects[i], kind="stable")
        ups = [j for j in order[:FACTORS_SHOWN] if effects[i, j] > MIN_FACTOR_LOG_ODDS]
        downs = [j for j in order[::-1][:FACTORS_SHOWN] if effects[i, j] < -MIN_FACTOR_LOG_ODDS]
        positive.append("; ".join(describe(features[j], values[i, j]) for j in ups) or None)
        negative.append("; ".join(describe(features[j], values[i, j]) for j in downs) or None)
    return positive, negative


def describe(feature: Feature, value) -> str:
    """A feature's value in a salesperson's words: "2 demo requests in the last 30 days"."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if feature.source == "custom field":
        if missing:
            return f"{feature.label} not filled in"
        return f"{feature.label}: {_number(value) if feature.kind == 'numeric' else value}"
    if feature.kind == "categorical":
        return f"{feature.label} not known" if missing or value == "unknown" else f"{feature.label}: {value}"
    if feature.name in ("log_employees", "log_annual_revenue"):
        return f"{feature.label} not known" if missing else f"{feature.label}: {_number(round(math.expm1(value)))}"
    if feature.name == "days_since_last_activity":
        return "no activity before" if missing else f"last activity {_number(value)} days before"
    if feature.name == "ever_unsubscribed":
        return feature.label if value else "never unsubscribed"
    if feature.name in ("is_personal_email", "is_competitor", "is_junk"):
        return feature.label if value else f"not a {feature.label}"
    if feature.name.startswith("n_"):
        return f"no {feature.label}" if not value else f"{_number(value)} {feature.label}"
    return f"{feature.label}: {_number(value)}"


def _number(value) -> str:
    return f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}"


def explain_prediction(
    con: duckdb.DuckDBPyConnection, lead_id: str, relations: Relations = DEFAULT_RELATIONS
) -> list[str]:
    """Lines for `leadops explain`: the lead's probability and its factors, or why the rules decide alone."""
    if not table_exists(con, LEAD_PREDICTIONS.relation.schema, LEAD_PREDICTIONS.relation.name):
        return ["predictive: no model has been trained yet; the rule-based score above decides"]
    row = con.execute(
        "select p.conversion_probability, p.decile, p.model_version, p.top_positive_factors, "
        "p.top_negative_factors, p.segment, p.rule_segment, v.model_type, v.as_of_date, v.roc_auc, v.rule_roc_auc "
        f"from {LEAD_PREDICTIONS} as p left join {MODEL_VERSIONS} as v using (model_version) "
        "where p.lead_id = ?",
        [lead_id],
    ).fetchone()
    if row is None:
        why = last_training_attempt(con, _scores_as_of(con, relations)) or "no model has been trained yet"
        return [f"predictive: fallback to the rules ({why})"]
    probability, decile, version, ups, downs, segment, rule_segment, kind, trained_as_of, auc, rule_auc = row
    lines = [
        f"predictive: conversion probability {probability:.1%}, decile {decile} of 10 "
        f"(model {version}, {kind}, trained on data as of {trained_as_of}; holdout ROC-AUC {auc:.3f}, "
        f"rule score {rule_auc:.3f})",
        f"  raises it: {ups or 'nothing notable'}",
        f"  lowers it: {downs or 'nothing notable'}",
    ]
    if segment != rule_segment:
        lines.append(f"  segment with the model: {segment} (the rules alone: {rule_segment})")
    return lines


def _scores_as_of(con: duckdb.DuckDBPyConnection, relations: Relations):
    """The scores' as_of date, None without scores: the explanation dates the training attempt it quotes."""
    if not table_exists(con, relations.lead_scores.schema, relations.lead_scores.name):
        return None
    return con.execute(f"select max(as_of_date) from {relations.lead_scores}").fetchone()[0]
