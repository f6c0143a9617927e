"""Training: the time-ordered split, the candidate models, the choice among them, the model put to work.

The newest leads are held out; candidates are compared by expanding-window validation inside the
older ones only, and the chosen one is judged once on the holdout beside the rule-based score.
scikit-learn is imported only here, when a model is trained, so loading the Dagster definitions
stays fast.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from leadops.config import Predictive, ScoringConfig
from leadops.predictive.evaluation import evaluate, report_frame, rule_figures, training_message
from leadops.predictive.features import (
    Feature,
    candidate_features,
    custom_fields,
    data_as_of,
    feature_matrix,
    fields_with_history,
    is_activity,
    training_rows,
)
from leadops.predictive.leakage import Exclusion, leakage_guard
from leadops.predictive.relations import DEFAULT_RELATIONS, Relations
from leadops.predictive.storage import MODEL_FILE, ensure_model_tables, record_training, store_model, write_report

VALIDATION_FOLDS = 3


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


@dataclass(frozen=True)
class _Labelled:
    """The leads old enough to have an outcome: their rows (created_at, cutoff), labels and features."""

    rows: pd.DataFrame
    labels: pd.Series
    frame: pd.DataFrame


def train(
    con: duckdb.DuckDBPyConnection,
    config: ScoringConfig,
    models_dir: Path,
    as_of: date | None = None,
    relations: Relations = DEFAULT_RELATIONS,
) -> TrainingResult:
    """Train, evaluate on the time-ordered holdout, store the model and record it in marts.model_versions."""
    started = time.perf_counter()
    settings = config.predictive
    as_of = as_of or data_as_of(con, relations)
    ensure_model_tables(con)
    rows = training_rows(con, settings, as_of, relations)
    labels = rows["label"].astype(bool)
    custom, with_history = custom_fields(con, settings, relations), fields_with_history(con, relations)
    candidates = candidate_features(custom, settings, config.hot.trigger_urls, with_history)
    data = _Labelled(rows, labels, feature_matrix(con, candidates, settings, config.hot.trigger_urls, relations))
    version = _version(data.frame, labels, settings, as_of)
    conversions = int(labels.sum())
    if conversions < settings.min_conversions:
        message = _skipped_message(settings, conversions, len(rows), as_of)
        result = TrainingResult("skipped", version, as_of, message, {"training_rows": len(rows)})
        record_training(con, result, settings, conversions=conversions, seconds=time.perf_counter() - started)
        return result
    result = _train_model(con, data, candidates, settings, version, as_of, models_dir, relations, started)
    record_training(con, result, settings, conversions=conversions, seconds=result.summary["training_seconds"])
    return result


def _skipped_message(settings: Predictive, conversions: int, rows: int, as_of: date) -> str:
    return (
        f"training skipped: {conversions} leads reached {settings.outcome_stage} among {rows} leads old "
        f"enough to have an outcome (created at least {settings.scoring_day + settings.outcome_window_days} "
        f"days before {as_of}); at least {settings.min_conversions} are needed (predictive.min_conversions). "
        "Scoring falls back to the rules."
    )


def _train_model(
    con: duckdb.DuckDBPyConnection,
    data: _Labelled,
    candidates: list[Feature],
    settings: Predictive,
    version: str,
    as_of: date,
    models_dir: Path,
    relations: Relations,
    started: float,
) -> TrainingResult:
    """Split, guard, choose, judge on the holdout, store: the trained model of `version` and its report."""
    labels = data.labels
    train_ids, holdout_ids, split_method = time_ordered_split(
        data.rows["created_at"], labels, settings.holdout_fraction, settings.seed
    )
    features, excluded, warnings, aucs = leakage_guard(
        data.frame.loc[train_ids], labels.loc[train_ids], candidates, settings
    )
    feature_sets = {"all": features, "profile": [f for f in features if not is_activity(f)]}
    validation = _validate(data, train_ids, feature_sets, settings)
    chosen, chosen_set = choose(validation)
    excluded += [
        Exclusion(f.name, f"not in the chosen feature set ({chosen_set}, by validation)")
        for f in features
        if f not in feature_sets[chosen_set]
    ]
    features = feature_sets[chosen_set]
    holdout = _holdout_figures(data, train_ids, holdout_ids, chosen, features, settings.seed)
    rules = rule_figures(con, train_ids, holdout_ids, labels, relations)
    folder = store_model(models_dir, version, _bundle(data, chosen, features, settings, version, as_of))
    created = pd.to_datetime(data.rows["created_at"])
    summary = {
        "model_type": chosen,
        "feature_set": chosen_set,
        "validation_roc_auc": validation,
        "training_window_start": created.min().date(),
        "training_window_end": created.max().date(),
        "holdout_start": created.loc[holdout_ids].min().date(),
        "training_rows": len(data.rows),
        "training_conversions": int(labels.sum()),
        "holdout_rows": len(holdout_ids),
        "holdout_conversions": int(labels.loc[holdout_ids].sum()),
        "split_method": split_method,
        "model": holdout,
        "rule_score": rules,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    report = report_frame(version, summary, features, excluded, aucs)
    message = training_message(version, summary)
    result = TrainingResult(
        "trained", version, as_of, message, summary, report, features, excluded, warnings, folder / MODEL_FILE
    )
    write_report(folder, summary)
    return result


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


def _validate(
    data: _Labelled, train_ids: pd.Index, feature_sets: dict[str, list[Feature]], settings: Predictive
) -> dict[str, float]:
    """Mean validation ROC-AUC of each candidate `<model kind>/<feature set>`.

    Each model kind is tried with and without the activity features (activity habits drift as a
    business changes). Expanding-window validation inside the training rows: fit on the oldest
    slices, score the next one, three times; one slice alone is too noisy to choose by."""
    from sklearn.metrics import roc_auc_score

    labels, frame = data.labels, data.frame
    ordered = data.rows.loc[train_ids].assign(_lead=train_ids).sort_values(["created_at", "_lead"]).index
    slices = np.array_split(ordered.to_numpy(), VALIDATION_FOLDS + 1)
    validation = {}
    for kind in settings.models:
        for set_name, subset in feature_sets.items():
            if not subset or (set_name == "profile" and len(subset) == len(feature_sets["all"])):
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
    return validation


def choose(validation: dict[str, float]) -> tuple[str, str]:
    """(model kind, feature set) of the best candidate; on a tie the simpler one: logistic, then profile."""
    best = max(validation, key=lambda key: (validation[key], "logistic" in key, key.endswith("/profile")))
    kind, feature_set = best.split("/")
    return kind, feature_set


def _holdout_figures(
    data: _Labelled, train_ids: pd.Index, holdout_ids: pd.Index, kind: str, features: list[Feature], seed: int
) -> dict:
    """The chosen candidate, calibrated and fitted on the training rows, judged on the holdout."""
    names = [f.name for f in features]
    evaluated = _calibrated(_estimator(kind, features, seed), seed)
    evaluated.fit(data.frame.loc[train_ids, names], data.labels.loc[train_ids])
    probability = evaluated.predict_proba(data.frame.loc[holdout_ids, names])[:, 1]
    return evaluate(probability, data.labels.loc[holdout_ids].to_numpy(), holdout_ids.to_numpy())


def _bundle(
    data: _Labelled, kind: str, features: list[Feature], settings: Predictive, version: str, as_of: date
) -> dict:
    """What scoring needs, stored with the model. The model put to work learns from every labelled
    lead, the newest included; the baselines are the typical lead its factors are measured against."""
    frame, names = data.frame, [f.name for f in features]
    production = _calibrated(_estimator(kind, features, settings.seed), settings.seed)
    production.fit(frame[names], data.labels)
    baselines = {
        f.name: (
            float(frame[f.name].median()) if f.kind == "numeric" else frame[f.name].fillna("(missing)").mode().iloc[0]
        )
        for f in features
    }
    return {
        "model_version": version,
        "model": production,
        "features": features,
        "baselines": baselines,
        "as_of": as_of,
        "predictive": settings.model_dump(mode="json"),
    }


def signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _estimator(kind: str, features: list[Feature], seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

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
    return Pipeline([("prepare", _preparation(features)), ("model", model)])


def _preparation(features: list[Feature]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    # Activity counts and custom numbers (head counts, amounts) are heavy-tailed: on a signed log scale
    # one extreme value cannot dominate a linear model.
    counts = [f.name for f in features if f.kind == "numeric" and (f.source == "custom field" or is_activity(f))]
    counts = [name for name in counts if name not in ("days_since_last_activity", "ever_unsubscribed")]
    numeric = [f.name for f in features if f.kind == "numeric" and f.name not in counts]
    categorical = [f.name for f in features if f.kind == "categorical"]
    logged = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True), FunctionTransformer(signed_log), StandardScaler()
    )
    scaled = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    encoded = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(missing)"),
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10, sparse_output=False),
    )
    return ColumnTransformer(
        [("counts", logged, counts), ("numeric", scaled, numeric), ("categorical", encoded, categorical)],
        sparse_threshold=0.0,
    )


def _calibrated(estimator, seed: int):
    """Platt scaling fitted on out-of-fold predictions, then one model on all rows (ensemble=False)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    return CalibratedClassifierCV(
        estimator, method="sigmoid", cv=StratifiedKFold(5, shuffle=True, random_state=seed), ensemble=False
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
