"""The leakage guard: features the model must not see, each with the reason it is left out.

Custom fields that sales fills after contact are dropped by name; any feature that alone separates
the outcome too well on the training rows is dropped as suspected leakage.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from leadops.config import Predictive
from leadops.leak_words import post_contact_reason, post_contact_word
from leadops.predictive.features import Feature

RARE_LEVEL_ROWS = 20  # levels rarer than this are pooled when a categorical feature's AUC is measured


@dataclass
class Exclusion:
    feature: str
    reason: str
    auc: float | None = None


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
    """(kept features, exclusions, warnings for the user, every feature's single-feature AUC)."""
    kept, excluded, warnings, aucs = [], [], [], {}
    for feature in features:
        aucs[feature.name] = auc = single_feature_auc(frame[feature.name], labels, feature.kind)
        exclusion, warning = _exclusion(feature, frame[feature.name], auc, settings)
        if exclusion is None:
            kept.append(feature)
            continue
        excluded.append(exclusion)
        if warning:
            warnings.append(warning)
    return kept, excluded, warnings, aucs


def _exclusion(
    feature: Feature, values: pd.Series, auc: float | None, settings: Predictive
) -> tuple[Exclusion | None, str | None]:
    """Why this feature is left out (and what to tell the user), or (None, None) if it is kept."""
    short = feature.short_name
    allowed = short in settings.allow_fields
    if short in settings.exclude_fields or feature.name in settings.exclude_fields:
        return Exclusion(short, "excluded by predictive.exclude_fields", auc), None
    if values.notna().sum() == 0:
        return Exclusion(short, "no values in the training rows", auc), None
    pattern = post_contact_word(short, settings.post_contact_patterns)
    if feature.source == "custom field" and pattern and not allowed:
        reason = post_contact_reason(pattern)
        warning = f"custom field {short!r} excluded: {reason}; add it to allow_fields if it is not"
        return Exclusion(short, reason, auc), warning
    if auc is not None and auc > settings.leak_auc_threshold and not allowed:
        reason = (
            f"suspected leakage: alone it separates the outcome with AUC {auc:.3f} "
            f"(> {settings.leak_auc_threshold}); allow it in allow_fields if it is known before contact"
        )
        return Exclusion(short, reason, auc), f"feature {short!r} excluded: {reason}"
    return None, None
