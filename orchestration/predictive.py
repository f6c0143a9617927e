"""Predictive scoring: the weekly-trained conversion model and the nightly predictions.

Training is not part of the nightly refresh (the `refresh` job leaves the `model_training` group
out): it runs weekly and on demand (`retrain` job, `leadops train`). Scoring with the latest model
is cheap, so `marts/lead_predictions` is refreshed every night with the rule-based scores.
scikit-learn is imported inside leadops.predictive's functions, never when the definitions load.

The tables it reads are the ones dbt built: `relations_from_manifest` finds each model's schema and
alias in the manifest, so a model moved to another schema or given an alias is followed.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt.dbt_manifest import validate_manifest
from dagster_duckdb import DuckDBResource

from leadops.predictive.relations import Relation, Relations
from leadops.predictive.tables import LEAD_PREDICTIONS, MODEL_REPORT, MODEL_VERSIONS, Table
from leadops.settings import Settings
from orchestration.dbt import LeadopsTranslator
from orchestration.project import dbt_project
from orchestration.resources import ScoringConfigFile

TRAINING_GROUP = "model_training"
OWNERS = ["team:revops-data"]

# The dbt nodes leadops.predictive reads, by field of its Relations. The node is the key: its schema
# and alias are read from the manifest; a model renamed in dbt must be renamed here too.
READ_NODES = {
    "lead_scores": "model.leadops.lead_scores",
    "leads": "model.leadops.int_leads_enriched",
    "signals": "model.leadops.int_lead_signals",
    "activity": "model.leadops.stg_raw__activity",
    "conversions": "model.leadops.stg_raw__conversions",
    "raw_leads": "source.leadops.raw.leads",
}


def relations_from_manifest(manifest: Mapping[str, Any] | Path | None = None) -> Relations:
    """Where dbt puts each table leadops.predictive reads: `schema.alias` of each of READ_NODES in the
    manifest (default: the one these definitions load). `raw.lead_attributes` is not dbt's: kept."""
    manifest = validate_manifest(dbt_project.manifest_path if manifest is None else manifest)
    return Relations(**{name: _relation(manifest, name, unique_id) for name, unique_id in READ_NODES.items()})


def _relation(manifest: Mapping[str, Any], name: str, unique_id: str) -> Relation:
    source = unique_id.startswith("source.")
    node = manifest["sources" if source else "nodes"].get(unique_id)
    if node is None:
        raise KeyError(f"the dbt manifest has no {unique_id}, which leadops.predictive reads as {name}")
    # The database is left out: it is the file dbt was parsed against, not the warehouse a run opens.
    return Relation(node["schema"], node["identifier"] if source else node["alias"])


def _model_keys() -> list[dg.AssetKey]:
    """The asset keys of the dbt models the model reads. The raw tables it also reads are upstream of
    those models, so they need no dependency of their own."""
    manifest = validate_manifest(dbt_project.manifest_path)
    translator = LeadopsTranslator()
    return [
        translator.get_asset_spec(manifest, unique_id, dbt_project).key
        for unique_id in READ_NODES.values()
        if unique_id.startswith("model.")
    ]


def _key(table: Table) -> dg.AssetKey:
    return dg.AssetKey([table.relation.schema, table.relation.name])


MODEL_KEY = dg.AssetKey(["models", "conversion_model"])
PREDICTIONS_KEY = _key(LEAD_PREDICTIONS)
REPORT_KEYS = (_key(MODEL_VERSIONS), _key(MODEL_REPORT))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MODEL_KEY,
            description=(
                "The conversion model: a regularised logistic regression or a gradient-boosted model (the better "
                "on the newest training leads), calibrated, stored under <warehouse dir>/models/<version>/."
            ),
            deps=_model_keys(),
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
        result = train(con, config, models_folder(warehouse.database), relations=relations_from_manifest())
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
        result = score(con, scoring_config.load(), relations=relations_from_manifest())
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


def weekly_retrain(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        job=retrain_job,
        cron_schedule=settings.retrain_cron,
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Retrains the conversion model every week (by default Sunday 04:00, after the nightly refresh).",
    )
    def weekly_retrain(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"retrain-{context.scheduled_execution_time.date().isoformat()}")

    return weekly_retrain
