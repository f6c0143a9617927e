"""Predictive scoring: a conversion model trained on the user's own history, validated honestly.

One module per job:

- relations.py: the dbt tables it reads, given as data (the Dagster assets build them from the manifest);
- features.py: the training rows and the point-in-time feature matrix, set-based in DuckDB;
- leakage.py: the guard that drops post-contact fields and features that alone give the outcome away;
- training.py: the time-ordered split, the candidate models, the choice among them, the model put to work;
- evaluation.py: the holdout report of the model beside the rule-based score;
- tables.py and storage.py: the tables it creates, declared once, and the model files and their record;
- scoring.py: the predictions with the latest model, their factors in words, `leadops explain`'s lines.

The names are imported from here lazily: the Dagster definitions name the tables (tables.py) at load
without importing pandas or scikit-learn, which only training and scoring need.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "relations": ("DEFAULT_RELATIONS", "Relation", "Relations"),
    "tables": ("LEAD_PREDICTIONS", "MODEL_REPORT", "MODEL_TABLES", "MODEL_VERSIONS", "Table"),
    "features": (
        "CURRENT_ATTRIBUTES_SQL",
        "CUSTOM_PREFIX",
        "EVENT_WORDS",
        "FIT_FEATURES",
        "NUMERIC_SHARE",
        "Feature",
        "candidate_features",
        "current_attributes_sql",
        "custom_fields",
        "data_as_of",
        "feature_matrix",
        "training_rows",
    ),
    "leakage": ("RARE_LEVEL_ROWS", "Exclusion", "leakage_guard", "single_feature_auc"),
    "training": ("VALIDATION_FOLDS", "TrainingResult", "choose", "time_ordered_split", "train"),
    "evaluation": ("evaluate", "report_frame", "rule_figures"),
    "storage": ("MODEL_FILE", "REPORT_FILE", "ensure_model_tables", "latest_model", "models_folder"),
    "scoring": (
        "FACTORS_SHOWN",
        "MIN_FACTOR_LOG_ODDS",
        "ScoringResult",
        "describe",
        "explain_prediction",
        "predicted_segments",
        "score",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
# Models stored before this was a package pickled the transformer's function as
# leadops.predictive._signed_log: it must stay loadable by that name for them to score.
_RENAMED = {"_signed_log": ("training", "signed_log")}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    module, attribute = _RENAMED.get(name) or (_HOME.get(name), name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
