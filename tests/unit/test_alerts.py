"""Alerts on a small warehouse: who is announced, how often, and what happens when the webhook fails."""

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import duckdb
import pytest

from leadops.alerts import JsonlNotifier, WebhookNotifier, create_alerts, notifier_from_env, pending_alerts
from leadops.settings import Settings
from orchestration.alerts import alert_assets
from orchestration.resources import AS_OF_TAG, AlertNotifier, Warehouse, transient_retry

(segment_alerts,) = alert_assets(transient_retry(Settings(retry_delay_seconds=0.2)))

DAY_1, DAY_2 = date(2026, 6, 29), date(2026, 6, 30)


@pytest.fixture
def warehouse(tmp_path) -> str:
    """Two scored days: L1 enters sql and turns hot on day 2, L2 stays mql, L3 leaves sql."""
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.lead_scores as select * from (values "
            "('L1', 91.0, 'A1', 'demo_request', 'l1@acme.com', 'Ann', 'Lee', 'Acme'), "
            "('L2', 70.0, 'B2', null, 'l2@acme.com', 'Bo', 'Ray', 'Acme'), "
            "('L3', 50.0, 'C3', null, 'l3@acme.com', 'Cy', 'Fox', 'Acme')) "
            "as t(lead_id, score, score_label, hot_trigger, email, first_name, last_name, company_name)"
        )
        con.execute(
            "create table marts.lead_score_history as select * from (values "
            "('L1', date '2026-06-29'), ('L1', date '2026-06-30')) as t(lead_id, as_of_date)"
        )
        con.execute(
            "create table marts.segment_changes as select * from (values "
            "('L1', 'sql', 'entered', null, date '2026-06-29'), "
            "('L1', 'sql', 'entered', date '2026-06-29', date '2026-06-30'), "
            "('L1', 'hot', 'entered', date '2026-06-29', date '2026-06-30'), "
            "('L2', 'mql', 'entered', date '2026-06-29', date '2026-06-30'), "
            "('L3', 'sql', 'left', date '2026-06-29', date '2026-06-30')) "
            "as t(lead_id, segment, change, previous_as_of_date, as_of_date)"
        )
    return path


def test_entering_sql_or_hot_is_announced_once(warehouse, tmp_path):
    notifier = JsonlNotifier(tmp_path / "alerts.jsonl")
    with duckdb.connect(warehouse) as con:
        created = create_alerts(con, DAY_2, ["sql", "hot"])
        pending = pending_alerts(con)
        notifier.send(pending)
        con.execute("update ops.alerts set notified_at = now()")
        again = create_alerts(con, DAY_2, ["sql", "hot"])

    assert created.created == 2 and again.created == 0
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert sorted((a["lead_id"], a["segment"]) for a in lines) == [("L1", "hot"), ("L1", "sql")]
    assert lines[0]["email"] == "l1@acme.com" and lines[0]["as_of_date"] == "2026-06-30"


def test_the_first_date_and_backfills_are_not_news(warehouse):
    with duckdb.connect(warehouse) as con:
        con.execute("delete from marts.lead_score_history where as_of_date > ?", [DAY_1])
        first = create_alerts(con, DAY_1, ["sql", "hot"])
        con.execute("insert into marts.lead_score_history values ('L1', ?), ('L1', date '2026-07-01')", [DAY_2])
        backfill = create_alerts(con, DAY_2, ["sql", "hot"])
        assert con.execute("select count(*) from ops.alerts").fetchone()[0] == 0
    assert first.created == 0 and "baseline" in first.skipped_because
    assert backfill.created == 0 and "backfill" in backfill.skipped_because


class FlakyWebhook(BaseHTTPRequestHandler):
    """Answers 503 to the first POST and 200 to the rest, keeping what it accepted."""

    received: list[dict] = []  # noqa: RUF012 - shared by the handler instances of one server
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).calls == 1:
            self.send_response(503)
        else:
            type(self).received.extend(body["alerts"])
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_url():
    FlakyWebhook.received, FlakyWebhook.calls = [], 0
    server = HTTPServer(("127.0.0.1", 0), FlakyWebhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


def test_the_webhook_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LEADOPS_TEST_HOOK", raising=False)
    assert isinstance(notifier_from_env("LEADOPS_TEST_HOOK", tmp_path / "a.jsonl"), JsonlNotifier)
    monkeypatch.setenv("LEADOPS_TEST_HOOK", "http://127.0.0.1:9/hook?token=secret")
    notifier = notifier_from_env("LEADOPS_TEST_HOOK", tmp_path / "a.jsonl")
    assert isinstance(notifier, WebhookNotifier) and "secret" not in notifier.channel


def test_a_failing_webhook_is_retried_and_alerts_are_delivered_once(warehouse, webhook_url, monkeypatch):
    monkeypatch.setenv("LEADOPS_ALERT_WEBHOOK_URL", webhook_url)
    resources = {"warehouse": Warehouse(database=warehouse), "alert_notifier": AlertNotifier()}
    first = dg.materialize([segment_alerts], resources=resources, tags={AS_OF_TAG: DAY_2.isoformat()})
    second = dg.materialize([segment_alerts], resources=resources, tags={AS_OF_TAG: DAY_2.isoformat()})

    assert first.success and second.success
    retries = [e for e in first.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1  # the 503, then a delivery
    assert sorted((a["lead_id"], a["segment"]) for a in FlakyWebhook.received) == [("L1", "hot"), ("L1", "sql")]
    assert FlakyWebhook.calls == 2  # the second run had nothing new to send
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from ops.alerts where notified_at is null").fetchone()[0] == 0
        assert con.execute("select distinct channel from ops.alerts").fetchall() == [("webhook",)]
