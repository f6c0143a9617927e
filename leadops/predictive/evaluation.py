"""The holdout report: the model and the rule-based score judged on the same held-out leads.

Figures per scorer: ROC-AUC, PR-AUC, Brier, base rate, conversion and lift per decile, and
calibration (mean predicted against observed) per probability band; written to marts.model_report.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from leadops.predictive.features import Feature
from leadops.predictive.leakage import Exclusion
from leadops.predictive.relations import DEFAULT_RELATIONS, Relations
from leadops.predictive.tables import MODEL_REPORT


def evaluate(probability: np.ndarray, labels: np.ndarray, ids: np.ndarray, ranking: np.ndarray | None = None) -> dict:
    """ROC-AUC, PR-AUC, Brier, conversion rate and lift per decile, calibration by probability band."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = labels.astype(int)
    ranking = probability if ranking is None else ranking
    return {
        "roc_auc": float(roc_auc_score(labels, ranking)),
        "pr_auc": float(average_precision_score(labels, ranking)),
        "brier": float(brier_score_loss(labels, probability)),
        "base_rate": float(labels.mean()),
        "deciles": _deciles(probability, labels, ids, ranking),
        "calibration": _calibration(probability, labels),
    }


def _deciles(probability: np.ndarray, labels: np.ndarray, ids: np.ndarray, ranking: np.ndarray) -> list[dict]:
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
    return deciles


def _calibration(probability: np.ndarray, labels: np.ndarray) -> list[dict]:
    band = np.minimum((probability * 10).astype(int), 9)
    return [
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


def rule_figures(
    con: duckdb.DuckDBPyConnection,
    train_ids: pd.Index,
    holdout_ids: pd.Index,
    labels: pd.Series,
    relations: Relations = DEFAULT_RELATIONS,
) -> dict:
    """The rule-based score on the same holdout. For the Brier score and calibration it is mapped to a
    probability by a one-feature logistic fit on the training rows."""
    from sklearn.linear_model import LogisticRegression

    scores = con.execute(f"select lead_id, cast(score as double) as score from {relations.lead_scores}").df()
    score = scores.set_index("lead_id")["score"].reindex(labels.index).fillna(0.0)
    mapping = LogisticRegression().fit(score.loc[train_ids].to_frame(), labels.loc[train_ids])
    probability = mapping.predict_proba(score.loc[holdout_ids].to_frame())[:, 1]
    return evaluate(
        probability,
        labels.loc[holdout_ids].to_numpy(),
        holdout_ids.to_numpy(),
        ranking=score.loc[holdout_ids].to_numpy(),
    )


def report_frame(
    version: str, summary: dict, features: list[Feature], excluded: list[Exclusion], aucs: dict[str, float | None]
) -> pd.DataFrame:
    """The rows of marts.model_report for one trained version."""
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
    split = {"leads": summary["holdout_rows"], "conversions": summary["holdout_conversions"]}
    add("training", "model", "split", 0, **split, note=summary["split_method"])
    add("training", "model", "chosen_model", 1, note=f"{summary['model_type']} on {summary['feature_set']} features")
    for order, (kind, auc) in enumerate(sorted(summary["validation_roc_auc"].items())):
        add("training", kind, "validation_roc_auc", 2 + order, value=auc)
    for order, feature in enumerate(features):
        note = f"{feature.kind}, {feature.source}"
        if feature.source == "custom field":  # which fields could not leak what sales wrote after contact
            read = "as of each lead's scoring date (history)" if feature.from_history else "as it is now (no history)"
            note += f", read {read}"
        add("feature", "model", feature.short_name, order, value=aucs.get(feature.name), note=note)
    for order, exclusion in enumerate(excluded):
        add("excluded", "model", exclusion.feature, order, value=exclusion.auc, note=exclusion.reason)
    return pd.DataFrame(rows).reindex(columns=MODEL_REPORT.column_names)


def training_message(version: str, summary: dict) -> str:
    model, rule = summary["model"], summary["rule_score"]
    return (
        f"model {version} ({summary['model_type']}): holdout ROC-AUC {model['roc_auc']:.3f} against "
        f"{rule['roc_auc']:.3f} for the rule score, on {summary['holdout_rows']} held-out leads; "
        f"split: {summary['split_method']}"
    )
