"""Predictive scoring: the weekly-trained conversion model and the nightly predictions.

Training is not part of the nightly refresh (the `refresh` job leaves the `model_training` group
out): it runs weekly and on demand (`retrain` job, `leadops train`). Scoring with the latest model
is cheap, so `marts/lead_predictions` is refreshed every night with the rule-based scores.
scikit-learn is imported inside leadops.predictive's functions, never when the definitions load.
"""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.dates import timezone_name
from orchestration.resources import ScoringConfigFile

TRAINING_GROUP = "model_training"
MODEL_KEY = dg.AssetKey(["models", "conversion_model"])
PREDICTIONS_KEY = dg.AssetKey(["marts", "lead_predictions"])
OWNERS = ["team:revops-data"]
REPORT_KEYS = (dg.AssetKey(["marts", "model_versions"]), dg.AssetKey(["marts", "model_report"]))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MODEL_KEY,
            description=(
                "The conversion model: a regularised logistic regression or a gradient-boosted model (the better "
                "on the newest training leads), calibrated, stored under <warehouse dir>/models/<version>/."
            ),
            deps=[
                dg.AssetKey(["marts", "lead_scores"]),
                dg.AssetKey(["intermediate", "int_leads_enriched"]),
                dg.AssetKey(["intermediate", "int_lead_signals"]),
                dg.AssetKey(["staging", "stg_raw__activity"]),
                dg.AssetKey(["staging", "stg_raw__conversions"]),
            ],
            kinds={"scikitlearn", "python"},
            owners=OWNERS,
        ),
        dg.AssetSpec(
            REPORT_KEYS[0],
            description="marts.model_versions: every training, its data window, figures, features and model file.",
            deps=[MODEL_KEY],
            kinds={"duckdb"},
            owners=OWNERS,
        ),
        dg.AssetSpec(
            REPORT_KEYS[1],
            description=(
                "marts.model_report: holdout ROC-AUC, PR-AUC, Brier, lift and conversion per decile and calibration "
                "of the model and of the rule score on the same leads; features used and excluded, with reasons."
            ),
            deps=[MODEL_KEY],
            kinds={"duckdb"},
            owners=OWNERS,
        ),
    ],
    name="conversion_model",
    group_name=TRAINING_GROUP,
)
def conversion_model(context: dg.AssetExecutionContext, warehouse: DuckDBResource, scoring_config: ScoringConfigFile):
    """Trains on leads old enough to have an outcome, point in time, and judges the model on the newest."""
    from leadops.predictive import models_folder, train

    config = scoring_config.load()
    with warehouse.get_connection() as con:
        result = train(con, config, models_folder(warehouse.database))
    for warning in result.warnings:
        context.log.warning(warning)
    metadata = {"model_version": result.model_version, "status": result.status, "as_of": str(result.as_of)}
    if result.status == "skipped":
        context.log.warning(result.message)
        metadata["message"] = result.message
    else:
        context.log.info(result.message)
        metadata |= _figures(result)
    yield dg.MaterializeResult(asset_key=MODEL_KEY, metadata=metadata)
    for key in REPORT_KEYS:
        yield dg.MaterializeResult(asset_key=key, metadata={"model_version": result.model_version})


def _figures(result) -> dict:
    summary = result.summary
    model, rule = summary["model"], summary["rule_score"]
    deciles = ["| decile | model rate | model lift | rule rate | rule lift |", "|---|---|---|---|---|"]
    deciles += [
        f"| {m['item']} | {m['conversion_rate']:.1%} | {m['lift']:.2f} | {r['conversion_rate']:.1%} | {r['lift']:.2f} |"
        for m, r in zip(model["deciles"], rule["deciles"], strict=True)
    ]
    calibration = ["| predicted | leads | mean predicted | observed |", "|---|---|---|---|"]
    calibration += [
        f"| {b['item']} | {b['leads']} | {b['mean_probability']:.3f} | {b['conversion_rate']:.3f} |"
        for b in model["calibration"]
    ]
    return {
        "chosen_model": f"{summary['model_type']} ({summary['feature_set']} features)",
        "holdout_roc_auc": round(model["roc_auc"], 4),
        "rule_score_holdout_roc_auc": round(rule["roc_auc"], 4),
        "holdout_pr_auc": round(model["pr_auc"], 4),
        "rule_score_holdout_pr_auc": round(rule["pr_auc"], 4),
        "holdout_brier": round(model["brier"], 4),
        "rule_score_holdout_brier": round(rule["brier"], 4),
        "split": summary["split_method"],
        "training_window": f"{summary['training_window_start']} .. {summary['training_window_end']}",
        "training_rows": summary["training_rows"],
        "training_conversions": summary["training_conversions"],
        "holdout_rows": summary["holdout_rows"],
        "training_seconds": summary["training_seconds"],
        "validation_roc_auc": dg.MetadataValue.json(summary["validation_roc_auc"]),
        "deciles": dg.MetadataValue.md("\n".join(deciles)),
        "calibration": dg.MetadataValue.md("\n".join(calibration)),
        "features": dg.MetadataValue.json([f.name.removeprefix("cf__") for f in result.features]),
        "excluded": dg.MetadataValue.json({e.feature: e.reason for e in result.excluded}),
        "model_path": dg.MetadataValue.path(str(result.model_path)),
    }


@dg.asset(
    key=PREDICTIONS_KEY,
    deps=[dg.AssetKey(["marts", "lead_scores"]), MODEL_KEY],
    group_name="predictive",
    kinds={"scikitlearn", "duckdb"},
    owners=OWNERS,
    description=(
        "marts.lead_predictions: every scored lead's calibrated conversion probability, decile, model version and "
        "top factors in words; empty when no model is trained (the rules decide alone)."
    ),
)
def lead_predictions(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, scoring_config: ScoringConfigFile
) -> dg.MaterializeResult:
    from leadops.predictive import score

    with warehouse.get_connection() as con:
        result = score(con, scoring_config.load())
    # No leads at all is reported once, by the leads_scored check, not again here.
    (context.log.warning if result.status == "fallback" else context.log.info)(result.message)
    metadata = {"status": result.status, "rows": result.rows, "message": result.message}
    if result.model_version:
        metadata["model_version"] = result.model_version
        metadata["mean_probability_by_decile"] = dg.MetadataValue.md(
            "| decile | leads | mean probability |\n|---|---|---|\n"
            + "\n".join(f"| {d} | {n} | {p:.3f} |" for d, n, p in result.deciles)
        )
    return dg.MaterializeResult(metadata=metadata)


# Training and the fresh predictions it makes; everything downstream of the model (the published
# copy) follows. Steps share one DuckDB file: one process.
retrain_job = dg.define_asset_job(
    "retrain",
    selection=dg.AssetSelection.groups(TRAINING_GROUP).downstream(),
    executor_def=dg.in_process_executor,
    description="Retrains the conversion model on the warehouse's current data and rescores every lead.",
)


@dg.schedule(
    job=retrain_job,
    cron_schedule=os.environ.get("LEADOPS_RETRAIN_CRON", "0 4 * * 0"),
    execution_timezone=timezone_name(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrains the conversion model every week (Sunday 04:00, after the nightly refresh).",
)
def weekly_retrain(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"retrain-{context.scheduled_execution_time.date().isoformat()}")
