"""Predictive scoring: a conversion model trained on the user's own history, validated honestly.

Training rows are leads old enough for their outcome to be known. Each is seen as it was on its
scoring date (`scoring_day` days after creation, or the day of its first pipeline stage if sooner):
fit attributes, CRM custom fields and the engagement counted strictly before that date, never what
came after. The feature matrix is built set-based in DuckDB; only that matrix reaches pandas.

A leakage guard drops custom fields that sales fills after contact (by name) and any feature that
alone separates the outcome too well. The newest leads are held out (time-ordered), and the model
is judged there beside the rule-based score. scikit-learn is imported only when a model is trained
or applied, so loading the Dagster definitions stays fast.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from leadops.config import Predictive, ScoringConfig
from leadops.contract import EVENT_TYPES
from leadops.leak_words import post_contact_reason, post_contact_word
from leadops.loader import quote_identifier, quote_literal
from leadops.model_history import last_training_attempt
from leadops.sql import table_exists, transaction

MODEL_FILE, REPORT_FILE = "model.joblib", "report.json"
CUSTOM_PREFIX = "cf__"
NUMERIC_SHARE = 0.95  # a custom field is numeric when this share of its values are numbers
RARE_LEVEL_ROWS = 20  # levels rarer than this are pooled when a categorical feature's AUC is measured
MIN_FACTOR_LOG_ODDS = 0.05  # smaller effects are not worth a salesperson's attention
FACTORS_SHOWN = 3
VALIDATION_FOLDS = 3

MODEL_TABLES = {
    "model_versions": (
        "model_version varchar not null, status varchar not null, as_of_date date not null, "
        "trained_at timestamp, model_type varchar, outcome_stage varchar, training_window_start date, "
        "training_window_end date, holdout_start date, training_rows bigint, training_conversions bigint, "
        "holdout_rows bigint, holdout_conversions bigint, split_method varchar, roc_auc double, pr_auc double, "
        "brier double, rule_roc_auc double, rule_pr_auc double, rule_brier double, features varchar, "
        "excluded varchar, model_path varchar, training_seconds double, seed integer, message varchar"
    ),
    "model_report": (
        "model_version varchar not null, section varchar not null, scorer varchar not null, item varchar not null, "
        "item_order integer not null, leads bigint, conversions bigint, conversion_rate double, lift double, "
        "mean_probability double, value double, note varchar"
    ),
    "lead_predictions": (
        "lead_id varchar not null, as_of_date date not null, conversion_probability double not null, "
        "decile integer not null, model_version varchar not null, top_positive_factors varchar, "
        "top_negative_factors varchar, rule_score decimal(12, 2), rule_segment varchar, segment varchar"
    ),
}

# Built-in features: (name, kind, words a salesperson reads). Counts are over `lookback_days`.
FIT_FEATURES = [
    ("industry", "categorical", "industry"),
    ("country_code", "categorical", "country"),
    ("seniority", "categorical", "seniority"),
    ("department", "categorical", "department"),
    ("lead_source", "categorical", "lead source"),
    ("log_employees", "numeric", "company size"),
    ("log_annual_revenue", "numeric", "company revenue"),
    ("is_personal_email", "numeric", "personal email address"),
    ("is_competitor", "numeric", "competitor domain"),
    ("is_junk", "numeric", "junk-looking record"),
]
EVENT_WORDS = {
    "email_delivered": "emails delivered",
    "email_open": "email opens",
    "email_click": "email clicks",
    "page_view": "page views",
    "content_download": "content downloads",
    "webinar_registration": "webinar registrations",
    "webinar_attendance": "webinars attended",
    "form_submission": "form submissions",
    "demo_request": "demo requests",
    "trial_signup": "trial signups",
    "newsletter_subscribe": "newsletter subscriptions",
    "unsubscribe": "unsubscribes",
    "social_engagement": "social engagements",
}


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical
    label: str
    source: str  # built-in | custom field


@dataclass
class Exclusion:
    feature: str
    reason: str
    auc: float | None = None


@dataclass
class TrainingResult:
    status: str  # trained | skipped
    model_version: str
    as_of: date
    message: str
    summary: dict[str, Any] = field(default_factory=dict)
    report: pd.DataFrame | None = None
    features: list[Feature] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    model_path: Path | None = None


@dataclass
class ScoringResult:
    status: str  # model | fallback
    model_version: str | None
    rows: int
    message: str
    deciles: list[tuple[int, int, float]] = field(default_factory=list)


def models_folder(warehouse: str | Path) -> Path:
    """Trained models live beside the warehouse (never in git): `<warehouse dir>/models/<version>/`."""
    return Path(warehouse).resolve().parent / "models"


def ensure_model_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists marts")
    for table, columns in MODEL_TABLES.items():
        con.execute(f"create table if not exists marts.{table} ({columns})")


def data_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The date the marts were last built as of: training and scoring use the same data as the scores."""
    (as_of,) = con.execute("select max(as_of_date) from marts.lead_scores").fetchone()
    if as_of is None:
        raise ValueError("marts.lead_scores is empty: run a refresh before training or scoring")
    return as_of


# --- features -------------------------------------------------------------------------------------------------


CURRENT_ATTRIBUTES_SQL = """
    with current_rows as (
        select lead_id, _batch_id, _line_number from raw.leads
        qualify row_number() over (partition by lead_id order by _batch_id desc, _line_number desc) = 1
    )
    select attributes.lead_id, attributes.attribute, attributes.value
    from raw.lead_attributes as attributes
    inner join current_rows using (lead_id, _batch_id, _line_number)
"""


def custom_fields(con: duckdb.DuckDBPyConnection, settings: Predictive) -> dict[str, str]:
    """Every custom field of the leads' current rows, typed: numeric when nearly all values are numbers."""
    if not table_exists(con, "raw", "lead_attributes"):
        return {}
    rows = con.execute(
        f"select attribute, count(*), count(try_cast(value as double)) from ({CURRENT_ATTRIBUTES_SQL}) "
        "group by attribute order by attribute"
    ).fetchall()
    return {
        attribute: settings.field_types.get(attribute) or ("numeric" if numbers >= NUMERIC_SHARE * n else "categorical")
        for attribute, n, numbers in rows
    }


def candidate_features(custom: dict[str, str], settings: Predictive, hot_urls: list[str]) -> list[Feature]:
    lookback = settings.lookback_days
    features = [Feature(name, kind, label, "built-in") for name, kind, label in FIT_FEATURES]
    features += [
        Feature(f"n_{event}", "numeric", f"{words} in the last {lookback} days", "built-in")
        for event, words in EVENT_WORDS.items()
    ]
    features += [
        Feature(f"n_views_{_slug(url)}", "numeric", f"visits to {url} in the last {lookback} days", "built-in")
        for url in hot_urls
    ]
    features += [
        Feature("n_events_7d", "numeric", "activities in the last 7 days", "built-in"),
        Feature("n_active_days", "numeric", f"active days in the last {lookback} days", "built-in"),
        Feature("days_since_last_activity", "numeric", "days since the last activity", "built-in"),
        Feature("ever_unsubscribed", "numeric", "unsubscribed before", "built-in"),
    ]
    features += [Feature(CUSTOM_PREFIX + name, kind, name, "custom field") for name, kind in custom.items()]
    return features


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_") or "root"


def feature_matrix(
    con: duckdb.DuckDBPyConnection, features: list[Feature], settings: Predictive, hot_urls: list[str]
) -> pd.DataFrame:
    """One row per lead of the temp table `_pit` (lead_id, cutoff): what was known before its cutoff."""
    lookback = int(settings.lookback_days)
    counts = [f"count(*) filter (where event_type = {quote_literal(event)}) as n_{event}" for event in EVENT_TYPES] + [
        f"count(*) filter (where event_type = 'page_view' and contains(url, {quote_literal(url.lower())})) "
        f"as n_views_{_slug(url)}"
        for url in hot_urls
    ]
    custom = [f for f in features if f.source == "custom field"]
    custom_columns = [
        (
            f"max(try_cast(value as double)) filter (where attribute = {quote_literal(f.name[len(CUSTOM_PREFIX) :])})"
            if f.kind == "numeric"
            else f"max(value) filter (where attribute = {quote_literal(f.name[len(CUSTOM_PREFIX) :])})"
        )
        + f" as {quote_identifier(f.name)}"
        for f in custom
    ]
    custom_cte = (
        f"custom as (select lead_id, {', '.join(custom_columns)} from ({CURRENT_ATTRIBUTES_SQL}) group by lead_id)"
        if custom
        else "custom as (select null::varchar as lead_id where false)"
    )
    event_names = [f"n_{event}" for event in EVENT_TYPES] + [f"n_views_{_slug(url)}" for url in hot_urls]
    sql = f"""
        with
        pit as (select lead_id, cutoff from _pit),
        history as (
            select pit.lead_id, pit.cutoff, activity.event_type, activity.url, activity.occurred_at
            from pit
            inner join staging.stg_raw__activity as activity on activity.lead_id = pit.lead_id
            where activity.occurred_at < pit.cutoff
        ),
        recent as (
            select lead_id, {", ".join(counts)},
                count(*) filter (where occurred_at >= cutoff - interval 7 day) as n_events_7d,
                count(distinct cast(occurred_at as date)) as n_active_days
            from history
            where occurred_at >= cutoff - interval {lookback} day
            group by lead_id
        ),
        lifetime as (
            select lead_id, date_diff('day', max(occurred_at), max(cutoff)) as days_since_last_activity,
                bool_or(event_type = 'unsubscribe') as ever_unsubscribed
            from history
            group by lead_id
        ),
        signals as (
            select lead_id,
                bool_or(signal = 'competitor') as is_competitor,
                bool_or(signal = 'junk') as is_junk
            from intermediate.int_lead_signals
            where signal in ('competitor', 'junk')
            group by lead_id
        ),
        {custom_cte}
        select
            pit.lead_id,
            leads.industry, leads.country_code, leads.seniority, leads.department, leads.lead_source,
            ln(1 + leads.employees) as log_employees,
            ln(1 + leads.annual_revenue) as log_annual_revenue,
            cast(leads.is_personal_email as integer) as is_personal_email,
            cast(coalesce(signals.is_competitor, false) as integer) as is_competitor,
            cast(coalesce(signals.is_junk, false) as integer) as is_junk,
            {", ".join(f"coalesce(recent.{name}, 0) as {name}" for name in event_names)},
            coalesce(recent.n_events_7d, 0) as n_events_7d,
            coalesce(recent.n_active_days, 0) as n_active_days,
            lifetime.days_since_last_activity,
            cast(coalesce(lifetime.ever_unsubscribed, false) as integer) as ever_unsubscribed
            {"".join(f", custom.{quote_identifier(f.name)}" for f in custom)}
        from pit
        inner join intermediate.int_leads_enriched as leads on leads.lead_id = pit.lead_id
        left join recent on recent.lead_id = pit.lead_id
        left join lifetime on lifetime.lead_id = pit.lead_id
        left join signals on signals.lead_id = pit.lead_id
        left join custom on custom.lead_id = pit.lead_id
        order by pit.lead_id
    """
    frame = con.execute(sql).df()
    for f in features:
        if f.kind == "numeric":
            frame[f.name] = pd.to_numeric(frame[f.name], errors="coerce").astype("float64")
        else:
            frame[f.name] = frame[f.name].astype("object").where(frame[f.name].notna(), None)
    return frame.set_index("lead_id")


def _training_rows(con: duckdb.DuckDBPyConnection, settings: Predictive, as_of: date) -> pd.DataFrame:
    """Leads whose outcome is known by `as_of`, with their scoring date (cutoff) and label, as `_pit`."""
    con.execute(
        f"""
        create or replace temp table _pit as
        with
        leads as (select lead_id, created_at from intermediate.int_leads_enriched),
        stages as (
            select lead_id, min(occurred_at) as first_stage_at,
                bool_or(stage = ?) as reached_outcome
            from staging.stg_raw__conversions
            where cast(occurred_at as date) <= ?
            group by lead_id
        )
        select
            leads.lead_id,
            leads.created_at,
            -- Before its first pipeline stage a lead's record is untouched by sales.
            least(
                cast(cast(leads.created_at as date) + {int(settings.scoring_day)} as timestamp),
                coalesce(cast(cast(stages.first_stage_at as date) as timestamp), 'infinity'::timestamp)
            ) as cutoff,
            coalesce(stages.reached_outcome, false) as label
        from leads
        left join stages on stages.lead_id = leads.lead_id
        -- Old enough, judged on the creation date only: choosing rows by their outcome would bias them.
        where cast(leads.created_at as date) + {int(settings.scoring_day) + int(settings.outcome_window_days)} <= ?
        """,
        [settings.outcome_stage, as_of, as_of],
    )
    return con.execute("select lead_id, created_at, cutoff, label from _pit order by lead_id").df().set_index("lead_id")


# --- the split, the guard, the models -------------------------------------------------------------------------


def time_ordered_split(
    created_at: pd.Series, labels: pd.Series, fraction: float, seed: int
) -> tuple[pd.Index, pd.Index, str]:
    """Train on the older leads, hold out the newest `fraction`. Only when the creation dates cannot
    order the leads (all on one day) or the newest slice lacks an outcome class, a stratified random
    split is used, and the returned description says so."""
    order = pd.DataFrame({"created_at": created_at, "label": labels})
    order = order.assign(_lead=order.index).sort_values(["created_at", "_lead"], kind="stable")
    n_holdout = max(1, round(len(order) * fraction))
    train, holdout = order.index[:-n_holdout], order.index[-n_holdout:]
    distinct_days = pd.to_datetime(order["created_at"]).dt.date.nunique()
    both_classes = order.loc[holdout, "label"].nunique() == 2 and order.loc[train, "label"].nunique() == 2
    if distinct_days > 1 and both_classes:
        boundary = pd.Timestamp(order.loc[holdout[0], "created_at"]).date()
        return train, holdout, f"time-ordered: holdout = the newest {fraction:.0%} of leads, created from {boundary}"
    from sklearn.model_selection import train_test_split

    why = "all leads were created on one day" if distinct_days <= 1 else "the newest leads lack an outcome class"
    train, holdout = train_test_split(
        order.index.to_numpy(), test_size=n_holdout, stratify=order["label"], random_state=seed
    )
    return pd.Index(sorted(train)), pd.Index(sorted(holdout)), f"stratified random split ({why}): not time-ordered"


def single_feature_auc(values: pd.Series, labels: pd.Series, kind: str) -> float | None:
    """How well one feature alone separates the outcome (0.5..1, direction ignored)."""
    from sklearn.metrics import roc_auc_score

    if labels.nunique() < 2:
        return None
    if kind == "numeric":
        numbers = values.astype("float64")
        scores = numbers.fillna(numbers.median() if numbers.notna().any() else 0.0)
    else:
        text = values.fillna("(missing)").astype(str)
        counts = text.value_counts()
        text = text.where(text.map(counts) >= RARE_LEVEL_ROWS, "(rare)")
        scores = text.map(labels.groupby(text).mean())
    auc = roc_auc_score(labels.astype(int), scores.astype(float))
    return float(max(auc, 1 - auc))


def leakage_guard(
    frame: pd.DataFrame, labels: pd.Series, features: list[Feature], settings: Predictive
) -> tuple[list[Feature], list[Exclusion], list[str], dict[str, float | None]]:
    kept, excluded, warnings, aucs = [], [], [], {}
    allowed = set(settings.allow_fields)
    for feature in features:
        short = feature.name.removeprefix(CUSTOM_PREFIX)
        aucs[feature.name] = auc = single_feature_auc(frame[feature.name], labels, feature.kind)
        if short in settings.exclude_fields or feature.name in settings.exclude_fields:
            excluded.append(Exclusion(short, "excluded by predictive.exclude_fields", auc))
            continue
        if frame[feature.name].notna().sum() == 0:
            excluded.append(Exclusion(short, "no values in the training rows", auc))
            continue
        pattern = post_contact_word(short, settings.post_contact_patterns)
        if feature.source == "custom field" and pattern and short not in allowed:
            reason = post_contact_reason(pattern)
            excluded.append(Exclusion(short, reason, auc))
            warnings.append(f"custom field {short!r} excluded: {reason}; add it to allow_fields if it is not")
            continue
        if auc is not None and auc > settings.leak_auc_threshold and short not in allowed:
            reason = (
                f"suspected leakage: alone it separates the outcome with AUC {auc:.3f} "
                f"(> {settings.leak_auc_threshold}); allow it in allow_fields if it is known before contact"
            )
            excluded.append(Exclusion(short, reason, auc))
            warnings.append(f"feature {short!r} excluded: {reason}")
            continue
        kept.append(feature)
    return kept, excluded, warnings, aucs


def _is_activity(feature: Feature) -> bool:
    return feature.source == "built-in" and (
        feature.name.startswith("n_") or feature.name in ("days_since_last_activity", "ever_unsubscribed")
    )


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _estimator(kind: str, features: list[Feature], seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    # Activity counts and custom numbers (head counts, amounts) are heavy-tailed: on a signed log scale
    # one extreme value cannot dominate a linear model.
    counts = [f.name for f in features if f.kind == "numeric" and (f.source == "custom field" or _is_activity(f))]
    counts = [name for name in counts if name not in ("days_since_last_activity", "ever_unsubscribed")]
    numeric = [f.name for f in features if f.kind == "numeric" and f.name not in counts]
    categorical = [f.name for f in features if f.kind == "categorical"]
    prepare = ColumnTransformer(
        [
            (
                "counts",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True),
                    FunctionTransformer(_signed_log),
                    StandardScaler(),
                ),
                counts,
            ),
            ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10, sparse_output=False),
                ),
                categorical,
            ),
        ],
        sparse_threshold=0.0,
    )
    if kind == "logistic_regression":
        # Strongly regularised: a few hundred conversions do not support many free weights.
        model = LogisticRegression(C=0.05, max_iter=5000)
    else:
        model = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=60,
            max_leaf_nodes=8,
            min_samples_leaf=80,
            l2_regularization=10.0,
            early_stopping=False,
            random_state=seed,
        )
    return Pipeline([("prepare", prepare), ("model", model)])


def _calibrated(estimator, seed: int):
    """Platt scaling fitted on out-of-fold predictions, then one model on all rows (ensemble=False)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    return CalibratedClassifierCV(
        estimator, method="sigmoid", cv=StratifiedKFold(5, shuffle=True, random_state=seed), ensemble=False
    )


# --- evaluation -----------------------------------------------------------------------------------------------


def evaluate(probability: np.ndarray, labels: np.ndarray, ids: np.ndarray, ranking: np.ndarray | None = None) -> dict:
    """ROC-AUC, PR-AUC, Brier, conversion rate and lift per decile, calibration by probability band."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = labels.astype(int)
    ranking = probability if ranking is None else ranking
    base_rate = float(labels.mean())
    order = np.lexsort((ids, -ranking))  # highest first, ties broken by lead_id
    decile = np.empty(len(order), dtype=int)
    decile[order] = np.arange(len(order)) * 10 // len(order) + 1
    deciles = []
    for d in range(1, 11):
        mask = decile == d
        rate = float(labels[mask].mean()) if mask.any() else 0.0
        deciles.append(
            {
                "item": str(d),
                "leads": int(mask.sum()),
                "conversions": int(labels[mask].sum()),
                "conversion_rate": rate,
                "lift": rate / base_rate if base_rate else None,
                "mean_probability": float(probability[mask].mean()) if mask.any() else None,
            }
        )
    band = np.minimum((probability * 10).astype(int), 9)
    calibration = [
        {
            "item": f"{b / 10:.1f}-{(b + 1) / 10:.1f}",
            "leads": int((band == b).sum()),
            "conversions": int(labels[band == b].sum()),
            "conversion_rate": float(labels[band == b].mean()),
            "mean_probability": float(probability[band == b].mean()),
        }
        for b in range(10)
        if (band == b).any()
    ]
    return {
        "roc_auc": float(roc_auc_score(labels, ranking)),
        "pr_auc": float(average_precision_score(labels, ranking)),
        "brier": float(brier_score_loss(labels, probability)),
        "base_rate": base_rate,
        "deciles": deciles,
        "calibration": calibration,
    }


# --- training -------------------------------------------------------------------------------------------------


def train(
    con: duckdb.DuckDBPyConnection, config: ScoringConfig, models_dir: Path, as_of: date | None = None
) -> TrainingResult:
    """Train, evaluate on the time-ordered holdout, store the model and record it in marts.model_versions."""
    started = time.perf_counter()
    settings = config.predictive
    as_of = as_of or data_as_of(con)
    ensure_model_tables(con)
    rows = _training_rows(con, settings, as_of)
    labels = rows["label"].astype(bool)
    custom = custom_fields(con, settings)
    candidates = candidate_features(custom, settings, config.hot.trigger_urls)
    frame = feature_matrix(con, candidates, settings, config.hot.trigger_urls)
    version = _version(frame, labels, settings, as_of)
    conversions = int(labels.sum())
    if conversions < settings.min_conversions:
        message = (
            f"training skipped: {conversions} leads reached {settings.outcome_stage} among {len(rows)} leads old "
            f"enough to have an outcome (created at least {settings.scoring_day + settings.outcome_window_days} "
            f"days before {as_of}); at least {settings.min_conversions} are needed (predictive.min_conversions). "
            "Scoring falls back to the rules."
        )
        result = TrainingResult("skipped", version, as_of, message, {"training_rows": len(rows)})
        _record(con, result, settings, conversions=conversions, seconds=time.perf_counter() - started)
        return result

    train_ids, holdout_ids, split_method = time_ordered_split(
        rows["created_at"], labels, settings.holdout_fraction, settings.seed
    )
    features, excluded, warnings, aucs = leakage_guard(
        frame.loc[train_ids], labels.loc[train_ids], candidates, settings
    )
    # Candidates: each model kind, with and without the activity features (activity habits drift as a
    # business changes). Each is judged by expanding-window validation inside the training rows: fit on
    # the oldest slices, score the next one, three times; one slice alone is too noisy to choose by.
    from sklearn.metrics import roc_auc_score

    ordered = rows.loc[train_ids].assign(_lead=train_ids).sort_values(["created_at", "_lead"]).index
    slices = np.array_split(ordered.to_numpy(), VALIDATION_FOLDS + 1)
    feature_sets = {"all": features, "profile": [f for f in features if not _is_activity(f)]}
    validation = {}
    for kind in settings.models:
        for set_name, subset in feature_sets.items():
            if not subset or (set_name == "profile" and len(subset) == len(features)):
                continue
            cols = [f.name for f in subset]
            aucs_by_fold = []
            for fold in range(1, VALIDATION_FOLDS + 1):
                fit_ids, check_ids = np.concatenate(slices[:fold]), slices[fold]
                if labels.loc[fit_ids].nunique() < 2 or labels.loc[check_ids].nunique() < 2:
                    continue
                candidate = _estimator(kind, subset, settings.seed).fit(frame.loc[fit_ids, cols], labels.loc[fit_ids])
                scores = candidate.predict_proba(frame.loc[check_ids, cols])[:, 1]
                aucs_by_fold.append(roc_auc_score(labels.loc[check_ids].astype(int), scores))
            validation[f"{kind}/{set_name}"] = float(np.mean(aucs_by_fold)) if aucs_by_fold else 0.5
    best = max(validation, key=lambda key: (validation[key], "logistic" in key, key.endswith("/profile")))
    chosen, chosen_set = best.split("/")
    dropped = [f for f in features if f not in feature_sets[chosen_set]]
    excluded += [Exclusion(f.name, f"not in the chosen feature set ({chosen_set}, by validation)") for f in dropped]
    features = feature_sets[chosen_set]
    names = [f.name for f in features]

    evaluated = _calibrated(_estimator(chosen, features, settings.seed), settings.seed)
    evaluated.fit(frame.loc[train_ids, names], labels.loc[train_ids])
    holdout_labels = labels.loc[holdout_ids].to_numpy()
    model_figures = evaluate(
        evaluated.predict_proba(frame.loc[holdout_ids, names])[:, 1], holdout_labels, holdout_ids.to_numpy()
    )
    rule_figures = _rule_figures(con, train_ids, holdout_ids, labels, settings.seed)

    # The model put to work learns from every labelled lead, the newest included.
    production = _calibrated(_estimator(chosen, features, settings.seed), settings.seed)
    production.fit(frame[names], labels)
    baselines = {
        f.name: (
            float(frame[f.name].median()) if f.kind == "numeric" else frame[f.name].fillna("(missing)").mode().iloc[0]
        )
        for f in features
    }
    folder = _store(
        models_dir,
        version,
        {
            "model_version": version,
            "model": production,
            "features": features,
            "baselines": baselines,
            "as_of": as_of,
            "predictive": settings.model_dump(mode="json"),
        },
    )
    created = pd.to_datetime(rows["created_at"])
    summary = {
        "model_type": chosen,
        "feature_set": chosen_set,
        "validation_roc_auc": validation,
        "training_window_start": created.min().date(),
        "training_window_end": created.max().date(),
        "holdout_start": created.loc[holdout_ids].min().date(),
        "training_rows": len(rows),
        "training_conversions": conversions,
        "holdout_rows": len(holdout_ids),
        "holdout_conversions": int(holdout_labels.sum()),
        "split_method": split_method,
        "model": model_figures,
        "rule_score": rule_figures,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    report = _report_frame(version, summary, features, excluded, aucs, split_method)
    message = (
        f"model {version} ({chosen}): holdout ROC-AUC {model_figures['roc_auc']:.3f} against "
        f"{rule_figures['roc_auc']:.3f} for the rule score, on {len(holdout_ids)} held-out leads; split: {split_method}"
    )
    result = TrainingResult(
        "trained", version, as_of, message, summary, report, features, excluded, warnings, folder / MODEL_FILE
    )
    (folder / REPORT_FILE).write_text(json.dumps(_jsonable(summary), indent=2, sort_keys=True), encoding="utf-8")
    _record(con, result, settings, conversions=conversions, seconds=summary["training_seconds"])
    return result


def _rule_figures(
    con: duckdb.DuckDBPyConnection, train_ids: pd.Index, holdout_ids: pd.Index, labels: pd.Series, seed: int
) -> dict:
    """The rule-based score on the same holdout. For the Brier score and calibration it is mapped to a
    probability by a one-feature logistic fit on the training rows."""
    from sklearn.linear_model import LogisticRegression

    scores = con.execute("select lead_id, cast(score as double) as score from marts.lead_scores").df()
    score = scores.set_index("lead_id")["score"].reindex(labels.index).fillna(0.0)
    mapping = LogisticRegression().fit(score.loc[train_ids].to_frame(), labels.loc[train_ids])
    probability = mapping.predict_proba(score.loc[holdout_ids].to_frame())[:, 1]
    return evaluate(
        probability,
        labels.loc[holdout_ids].to_numpy(),
        holdout_ids.to_numpy(),
        ranking=score.loc[holdout_ids].to_numpy(),
    )


def _version(frame: pd.DataFrame, labels: pd.Series, settings: Predictive, as_of: date) -> str:
    """The same data, configuration, date and seed give the same version, so reruns replace themselves."""
    import sklearn

    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(labels, index=True).to_numpy().tobytes())
    digest.update(json.dumps(settings.model_dump(mode="json"), sort_keys=True).encode())
    digest.update(f"{as_of}|{sklearn.__version__}|{list(frame.columns)}".encode())
    return "m" + digest.hexdigest()[:12]


def _store(models_dir: Path, version: str, bundle: dict) -> Path:
    import joblib

    folder = models_dir / version
    partial = models_dir / f".{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    joblib.dump(bundle, partial / MODEL_FILE)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _report_frame(
    version: str,
    summary: dict,
    features: list[Feature],
    excluded: list[Exclusion],
    aucs: dict[str, float | None],
    split_method: str,
) -> pd.DataFrame:
    rows = []

    def add(section, scorer, item, order, **values):
        rows.append({"model_version": version, "section": section, "scorer": scorer, "item": item} | values)
        rows[-1]["item_order"] = order

    for scorer in ("model", "rule_score"):
        figures = summary[scorer]
        for order, metric in enumerate(("roc_auc", "pr_auc", "brier", "base_rate")):
            add("metric", scorer, metric, order, value=figures[metric])
        for order, decile in enumerate(figures["deciles"]):
            add("decile", scorer, **decile, order=order)
        for order, band in enumerate(figures["calibration"]):
            add("calibration", scorer, **band, order=order)
    add(
        "training",
        "model",
        "split",
        0,
        leads=summary["holdout_rows"],
        conversions=summary["holdout_conversions"],
        note=split_method,
    )
    add("training", "model", "chosen_model", 1, note=f"{summary['model_type']} on {summary['feature_set']} features")
    for order, (kind, auc) in enumerate(sorted(summary["validation_roc_auc"].items())):
        add("training", kind, "validation_roc_auc", 2 + order, value=auc)
    for order, feature in enumerate(features):
        note = f"{feature.kind}, {feature.source}"
        add(
            "feature", "model", feature.name.removeprefix(CUSTOM_PREFIX), order, value=aucs.get(feature.name), note=note
        )
    for order, exclusion in enumerate(excluded):
        add("excluded", "model", exclusion.feature, order, value=exclusion.auc, note=exclusion.reason)
    columns = [c.split()[0] for c in MODEL_TABLES["model_report"].split(", ")]
    return pd.DataFrame(rows).reindex(columns=columns)


def _record(
    con: duckdb.DuckDBPyConnection, result: TrainingResult, settings: Predictive, conversions: int, seconds: float
) -> None:
    """Replace this version's rows in marts.model_versions and marts.model_report in one transaction."""
    summary = result.summary
    model, rule = summary.get("model", {}), summary.get("rule_score", {})
    row = [
        result.model_version,
        result.status,
        result.as_of,
        datetime.now(UTC).replace(tzinfo=None),
        summary.get("model_type"),
        settings.outcome_stage,
        summary.get("training_window_start"),
        summary.get("training_window_end"),
        summary.get("holdout_start"),
        summary.get("training_rows"),
        conversions,
        summary.get("holdout_rows"),
        summary.get("holdout_conversions"),
        summary.get("split_method"),
        model.get("roc_auc"),
        model.get("pr_auc"),
        model.get("brier"),
        rule.get("roc_auc"),
        rule.get("pr_auc"),
        rule.get("brier"),
        ", ".join(f.name.removeprefix(CUSTOM_PREFIX) for f in result.features) or None,
        "; ".join(f"{e.feature}: {e.reason}" for e in result.excluded) or None,
        str(result.model_path) if result.model_path else None,
        round(seconds, 2),
        settings.seed,
        result.message,
    ]
    with transaction(con):
        con.execute("delete from marts.model_versions where model_version = ?", [result.model_version])
        con.execute(f"insert into marts.model_versions values ({', '.join('?' for _ in row)})", row)
        con.execute("delete from marts.model_report where model_version = ?", [result.model_version])
        if result.report is not None and len(result.report):
            con.register("_model_report", result.report)
            con.execute("insert into marts.model_report select * from _model_report")
            con.unregister("_model_report")


# --- scoring --------------------------------------------------------------------------------------------------


def latest_model(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(version, path) of the most recent trained model whose file still exists."""
    if not table_exists(con, "marts", "model_versions"):
        return None
    for version, path in con.execute(
        "select model_version, model_path from marts.model_versions where status = 'trained' "
        "order by as_of_date desc, trained_at desc"
    ).fetchall():
        if path and Path(path).exists():
            return version, path
    return None


def score(con: duckdb.DuckDBPyConnection, config: ScoringConfig, as_of: date | None = None) -> ScoringResult:
    """Score every lead of marts.lead_scores with the latest model into marts.lead_predictions (replaced
    in one transaction). Without a trained model the table is left empty and the rules decide."""
    ensure_model_tables(con)
    if not con.execute("select count(*) from marts.lead_scores").fetchone()[0]:  # the leads_scored check says why
        _replace_predictions(con, None)
        return ScoringResult("no leads", None, 0, "no leads scored: nothing to predict")
    as_of = as_of or data_as_of(con)
    found = latest_model(con)
    if found is None:
        why = (
            last_training_attempt(con, as_of)
            or "no model has been trained yet (run `leadops train` or the retrain job)"
        )
        _replace_predictions(con, None)
        return ScoringResult("fallback", None, 0, f"no predictive model: {why}")
    import joblib

    version, path = found
    bundle = joblib.load(path)
    features: list[Feature] = bundle["features"]
    settings = Predictive.model_validate(bundle["predictive"])
    con.execute(
        "create or replace temp table _pit as select lead_id, cast(cast(? as date) + 1 as timestamp) as cutoff "
        "from marts.lead_scores",
        [as_of],
    )
    frame = feature_matrix(con, features, settings, _hot_urls(features, config))
    names = [f.name for f in features]
    model = bundle["model"]
    probability = model.predict_proba(frame[names])[:, 1]
    positive, negative = _factors(model, frame[names], probability, features, bundle["baselines"])
    scores = (
        con.execute("select lead_id, score, segment from marts.lead_scores").df().set_index("lead_id").loc[frame.index]
    )
    ids = frame.index.to_numpy()
    order = np.lexsort((ids, -probability))
    decile = np.empty(len(order), dtype=int)
    decile[order] = np.arange(len(order)) * 10 // max(len(order), 1) + 1
    predictions = pd.DataFrame(
        {
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
    )
    _replace_predictions(con, predictions)
    deciles = [
        (int(d), int(n), float(p))
        for d, n, p in predictions.groupby("decile")["conversion_probability"].agg(["count", "mean"]).itertuples()
    ]
    return ScoringResult("model", version, len(predictions), f"scored {len(predictions)} leads with {version}", deciles)


def _hot_urls(features: list[Feature], config: ScoringConfig) -> list[str]:
    """The URLs the model was trained on, whatever the configuration says now."""
    slugs = {f.name.removeprefix("n_views_") for f in features if f.name.startswith("n_views_")}
    return [url for url in config.hot.trigger_urls if _slug(url) in slugs] + [
        "/" + slug for slug in sorted(slugs - {_slug(u) for u in config.hot.trigger_urls})
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
    if feature.name in ("is_personal_email", "is_competitor", "is_junk", "ever_unsubscribed"):
        return (
            feature.label
            if value
            else f"not a {feature.label}"
            if feature.name != "ever_unsubscribed"
            else "never unsubscribed"
        )
    if feature.name.startswith("n_"):
        return f"no {feature.label}" if not value else f"{_number(value)} {feature.label}"
    return f"{feature.label}: {_number(value)}"


def _number(value) -> str:
    return f"{float(value):,.0f}" if float(value).is_integer() else f"{float(value):,.2f}"


def _replace_predictions(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame | None) -> None:
    columns = MODEL_TABLES["lead_predictions"]
    with transaction(con):
        con.execute(f"create or replace table marts.lead_predictions ({columns})")
        if predictions is not None and len(predictions):
            con.register("_predictions", predictions)
            con.execute("insert into marts.lead_predictions select * from _predictions order by lead_id")
            con.unregister("_predictions")


# --- explain --------------------------------------------------------------------------------------------------


def explain_prediction(con: duckdb.DuckDBPyConnection, lead_id: str) -> list[str]:
    """Lines for `leadops explain`: the lead's probability and its factors, or why the rules decide alone."""
    if not table_exists(con, "marts", "lead_predictions"):
        return ["predictive: no model has been trained yet; the rule-based score above decides"]
    row = con.execute(
        "select p.conversion_probability, p.decile, p.model_version, p.top_positive_factors, "
        "p.top_negative_factors, p.segment, p.rule_segment, v.model_type, v.as_of_date, v.roc_auc, v.rule_roc_auc "
        "from marts.lead_predictions as p left join marts.model_versions as v using (model_version) "
        "where p.lead_id = ?",
        [lead_id],
    ).fetchone()
    if row is None:
        why = last_training_attempt(con) or "no model has been trained yet"
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
