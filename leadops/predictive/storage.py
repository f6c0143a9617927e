"""Where trained models are kept: the model files beside the warehouse, their record in the warehouse.

A model lives in `<warehouse dir>/models/<version>/` (never in git): `model.joblib` and `report.json`.
Each training, trained or skipped, is a row of marts.model_versions and its report rows of
marts.model_report; the tables themselves are declared in tables.py.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from leadops.config import Predictive
from leadops.predictive.tables import LEAD_PREDICTIONS, MODEL_REPORT, MODEL_TABLES, MODEL_VERSIONS
from leadops.sql import table_exists, transaction

if TYPE_CHECKING:
    import pandas as pd

    from leadops.predictive.training import TrainingResult

MODEL_FILE, REPORT_FILE = "model.joblib", "report.json"


def models_folder(warehouse: str | Path) -> Path:
    """Trained models live beside the warehouse (never in git): `<warehouse dir>/models/<version>/`."""
    return Path(warehouse).resolve().parent / "models"


def ensure_model_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in MODEL_TABLES:
        con.execute(f"create schema if not exists {table.relation.schema}")
        con.execute(table.create())


def store_model(models_dir: Path, version: str, bundle: dict) -> Path:
    """Write the bundle to `<models_dir>/<version>/`, replacing that folder in one rename."""
    import joblib

    folder = models_dir / version
    partial = models_dir / f".{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    joblib.dump(bundle, partial / MODEL_FILE)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def write_report(folder: Path, summary: dict) -> None:
    (folder / REPORT_FILE).write_text(json.dumps(_jsonable(summary), indent=2, sort_keys=True), encoding="utf-8")


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


def record_training(
    con: duckdb.DuckDBPyConnection, result: TrainingResult, settings: Predictive, conversions: int, seconds: float
) -> None:
    """Replace this version's rows in marts.model_versions and marts.model_report in one transaction."""
    row = _version_row(result, settings, conversions, seconds)
    with transaction(con):
        con.execute(f"delete from {MODEL_VERSIONS} where model_version = ?", [result.model_version])
        con.execute(f"insert into {MODEL_VERSIONS} values ({', '.join('?' for _ in row)})", row)
        con.execute(f"delete from {MODEL_REPORT} where model_version = ?", [result.model_version])
        if result.report is not None and len(result.report):
            con.register("_model_report", result.report)
            con.execute(f"insert into {MODEL_REPORT} select * from _model_report")
            con.unregister("_model_report")


def _version_row(result: TrainingResult, settings: Predictive, conversions: int, seconds: float) -> list:
    """The marts.model_versions row, in its columns' order."""
    summary = result.summary
    model, rule = summary.get("model", {}), summary.get("rule_score", {})
    return [
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
        ", ".join(f.short_name for f in result.features) or None,
        "; ".join(f"{e.feature}: {e.reason}" for e in result.excluded) or None,
        str(result.model_path) if result.model_path else None,
        round(seconds, 2),
        settings.seed,
        result.message,
    ]


def latest_model(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(version, path) of the most recent trained model whose file still exists."""
    if not table_exists(con, MODEL_VERSIONS.relation.schema, MODEL_VERSIONS.relation.name):
        return None
    for version, path in con.execute(
        f"select model_version, model_path from {MODEL_VERSIONS} where status = 'trained' "
        "order by as_of_date desc, trained_at desc"
    ).fetchall():
        if path and Path(path).exists():
            return version, path
    return None


def replace_predictions(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame | None) -> None:
    """marts.lead_predictions becomes `predictions` (empty when None), in one transaction."""
    with transaction(con):
        con.execute(LEAD_PREDICTIONS.create(replace=True))
        if predictions is not None and len(predictions):
            con.register("_predictions", predictions)
            con.execute(f"insert into {LEAD_PREDICTIONS} select * from _predictions order by lead_id")
            con.unregister("_predictions")
