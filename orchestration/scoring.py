"""Scoring: the validated scoring configuration as `config.*` tables for the dbt scoring models."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from leadops.config import CONFIG_TABLE_COLUMNS, write_config_tables
from orchestration.resources import ScoringConfigFile

config_specs = [
    dg.AssetSpec(
        key=dg.AssetKey(["config", table]),
        description=f"`config.{table}`: part of scoring.yml, validated and written as rows.",
        group_name="scoring",
        kinds={"duckdb", "yaml"},
        owners=["team:revops-data"],
    )
    for table in CONFIG_TABLE_COLUMNS
]


@dg.multi_asset(specs=config_specs, name="scoring_config")
def scoring_config(context: dg.AssetExecutionContext, warehouse: DuckDBResource, scoring_config: ScoringConfigFile):
    """Validates scoring.yml (a malformed file fails here, naming the entry) and writes its rules."""
    config = scoring_config.load()
    with warehouse.get_connection() as con:
        row_counts = write_config_tables(con, config)
    context.log.info(f"scoring configuration {config.version_hash}: {row_counts}")
    for table, rows in row_counts.items():
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["config", table]),
            metadata={
                "rows": rows,
                "config_version": config.version_hash,
                "config_file": scoring_config.path,
            },
        )


@dg.asset(
    key=dg.AssetKey(["reports", "calibration"]),
    deps=[dg.AssetKey(["marts", "score_calibration"]), dg.AssetKey(["marts", "lead_scores"])],
    group_name="scoring",
    kinds={"duckdb", "python"},
    owners=["team:revops-data"],
    description=(
        "How well the scores rank past outcomes: win rate per segment and score band, the share of past "
        "converters that reached MQL or SQL, and the ROC AUC of the score against closed-won deals. "
        "RevOps sets thresholds from it; written to reports/calibration.md beside the warehouse."
    ),
)
def calibration_report(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        table = con.execute(
            "select calibration_group, bucket, leads, opportunities, won, round(win_rate, 4) "
            "from marts.score_calibration order by calibration_group desc, bucket"
        ).fetchall()
        reached, converters, auc = con.execute(CONVERTERS_AND_AUC).fetchone()
    lines = ["| group | bucket | leads | opportunities | won | win rate |", "|---|---|---|---|---|---|"]
    lines += [f"| {g} | {b} | {n} | {o} | {w} | {r:.1%} |" for g, b, n, o, w, r in table]
    summary = (
        f"{reached} of {converters} past closed-won leads reached the two highest segments (MQL or SQL); "
        f"ROC AUC of the score against closed-won: {auc:.3f}"
        if converters
        else "no closed-won deals yet"
    )
    report = "\n".join(["# Score calibration", "", summary, "", *lines, ""])
    path = Path(warehouse.database).parent / "reports" / "calibration.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")
    context.log.info(summary)
    return dg.MaterializeResult(
        metadata={
            "calibration": dg.MetadataValue.md("\n".join(lines)),
            "converters": converters,
            "converters_reaching_mql_or_sql": reached,
            "roc_auc": round(auc, 4) if auc is not None else None,
            "report": dg.MetadataValue.path(str(path)),
        }
    )


# The two highest segment bands (mql and sql by default) and the rank-based ROC AUC
# (Mann-Whitney) of the score against closed-won deals known by as_of. A tie must count half,
# so tied scores share the average of the positions they occupy: rank() gives them the lowest,
# which reported -0.313 when every score was 0.
CONVERTERS_AND_AUC = """
    with won as (
        select distinct lead_id from staging.stg_raw__conversions
        where is_won and cast(occurred_at as date) <= (select max(as_of_date) from marts.lead_scores)
    ),
    qualified as (select label from config.bands where band_type = 'segment' and band_rank <= 2),
    outcomes as (
        select scores.score, scores.segment, won.lead_id is not null as is_won
        from marts.lead_scores as scores left join won using (lead_id)
    ),
    ranked as (select is_won, score, row_number() over (order by score) as position from outcomes),
    tied as (select is_won, avg(position) over (partition by score) as score_rank from ranked)
    select
        (select count(*) from outcomes where is_won and segment in (select label from qualified)),
        (select count(*) from outcomes where is_won),
        (select (sum(score_rank) filter (where is_won) - count_if(is_won) * (count_if(is_won) + 1) / 2.0)
            / nullif(count_if(is_won) * count_if(not is_won), 0) from tied)
"""
