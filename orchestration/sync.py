"""The CRM sync: one asset per destination whose credentials are set, after the published copy,
writing each lead's score, grade, segment and reasons to its CRM record (leadops.sync)."""

import dagster as dg

from leadops.settings import Settings
from leadops.sources.mapping import SourceMapping
from leadops.sync.connect import destination_for
from leadops.sync.run import published_scores, sync
from leadops.sync.settings import load_sync_config
from orchestration.publishing import PUBLISHED_MARTS
from orchestration.resources import Warehouse

CRM_LABELS = {"hubspot": "HubSpot contact properties", "salesforce": "Salesforce Lead and Contact fields"}


def sync_assets(settings: Settings, mapping: SourceMapping | None) -> list[dg.AssetsDefinition]:
    """No asset for a CRM without credentials; the field mapping is checked here, at load."""
    if not settings.sync_destinations:
        return []
    config = load_sync_config(settings.sync_config)
    ids_of = mapping.crm if mapping else None
    return [_sync_asset(name, settings, config, ids_of) for name in settings.sync_destinations]


def _sync_asset(name: str, settings: Settings, config, ids_of: str | None) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["crm", name]),
        deps=[PUBLISHED_MARTS],
        group_name="crm_sync",
        kinds={name},
        owners=["team:revops-data"],
        description=(
            f"Scores, grades, segments and reasons on the CRM record ({CRM_LABELS[name]}), only the leads whose "
            "values changed since the CRM last accepted them, and its lists kept equal to their segments. "
            "What was accepted is kept in ops.sync_state; refusals are retried next run."
        ),
    )
    def crm_sync(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        destination = destination_for(name, settings, config)
        copy = warehouse.published_folder / "leadops.duckdb"
        with warehouse.get_connection() as con, published_scores(con, copy) as published:
            report = sync(
                con, name, destination, config, ids_of, sync_id=context.run_id, catalog=published, log=context.log.info
            )
        for line in report.lines():
            context.log.info(line)
        if report.stopped:
            context.log.warning(f"{name} sync stopped: {report.stopped}")
        lists = "\n".join(
            f"| {x.list_name} | {x.members} | {x.added} | {x.removed} | {x.failed} |" for x in report.lists
        )
        return dg.MaterializeResult(
            metadata={
                "considered": report.considered,
                "changed": report.changed,
                "sent": report.sent,
                "accepted": report.accepted,
                "failed": report.failed,
                "api_calls": report.api_calls,
                "change_seconds": dg.MetadataValue.float(round(report.change_seconds, 3)),
                "stopped": report.stopped or "",
                "lists": dg.MetadataValue.md(
                    "| list | leads | added | removed | failed |\n|---|---|---|---|---|\n" + lists
                ),
            }
        )

    return crm_sync
