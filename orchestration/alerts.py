"""Alerts: leads entering the SQL segment or turning hot are announced once, by file or webhook."""

import dagster as dg

from leadops.alerts import create_alerts, mark_notified, pending_alerts
from orchestration.resources import AlertNotifier, Warehouse


def alert_assets(retry: dg.RetryPolicy) -> list[dg.AssetsDefinition]:
    """The alerts of the run's segment entries, retried by `retry` (a webhook timing out)."""

    @dg.asset(
        key=dg.AssetKey(["ops", "alerts"]),
        deps=[dg.AssetKey(["marts", "segment_changes"]), dg.AssetKey(["marts", "lead_scores"])],
        group_name="publishing",
        kinds={"duckdb", "python"},
        owners=["team:revops-data"],
        retry_policy=retry,
        description=(
            "ops.alerts: each lead that entered the SQL segment or turned hot on the run's date, handed to "
            "the notifier (alerts/alerts.jsonl by default, a webhook when LEADOPS_ALERT_WEBHOOK_URL is set) "
            "once per lead and segment entry, at least once (a repeat has the same alert_id). Undelivered alerts "
            "are retried by the next run."
        ),
    )
    def segment_alerts(
        context: dg.AssetExecutionContext, warehouse: Warehouse, alert_notifier: AlertNotifier
    ) -> dg.MaterializeResult:
        as_of = warehouse.as_of(context)
        with warehouse.get_connection() as con:
            run = create_alerts(con, as_of, alert_notifier.segments)
            pending = pending_alerts(con)
            notifier = alert_notifier.notifier(warehouse.database)
            if pending:
                notifier.send(pending)  # raises on failure: the alerts stay pending and the step retries
                mark_notified(con, [alert["alert_id"] for alert in pending], notifier.channel)
            (total,) = con.execute("select count(*) from ops.alerts").fetchone()
        if run.skipped_because:
            context.log.info(f"no new alerts: {run.skipped_because}")
        by_segment = {}
        for alert in pending:
            by_segment[alert["segment"]] = by_segment.get(alert["segment"], 0) + 1
        context.log.info(f"{run.created} new alert(s) as of {as_of}; delivered {len(pending)} to {notifier.channel}")
        return dg.MaterializeResult(
            metadata={
                "new_alerts": run.created,
                "delivered": len(pending),
                "delivered_by_segment": dg.MetadataValue.json(by_segment),
                "channel": notifier.channel,
                "table_rows": total,
                "skipped_because": run.skipped_because or "",
            }
        )

    return [segment_alerts]
