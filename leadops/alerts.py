"""Alerts: leads that entered the SQL segment or became hot, handed once to a notifier.

An alert is one lead entering one segment on one as_of date (`marts.segment_changes`), so a lead
that stays SQL for a month is announced once, and one that leaves and comes back is announced
again. Alerts are kept in `ops.alerts`; `notified_at` is set only after the notifier accepted
them, so a failed delivery is retried by the next run instead of being lost.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

ALERT_COLUMNS = (
    "alert_id",
    "lead_id",
    "segment",
    "as_of_date",
    "previous_as_of_date",
    "score",
    "score_label",
    "hot_trigger",
    "email",
    "first_name",
    "last_name",
    "company_name",
)

ALERTS_TABLE = """
    create table if not exists ops.alerts (
        alert_id varchar primary key, lead_id varchar not null, segment varchar not null, as_of_date date not null,
        previous_as_of_date date, score decimal(12, 2), score_label varchar, hot_trigger varchar, email varchar,
        first_name varchar, last_name varchar, company_name varchar, created_at timestamp not null,
        notified_at timestamp, channel varchar
    )
"""


@dataclass(frozen=True)
class AlertRun:
    created: int
    skipped_because: str | None = None


def create_alerts(con: duckdb.DuckDBPyConnection, as_of: date, segments: list[str]) -> AlertRun:
    """Add an alert for each lead that entered one of `segments` on `as_of`; returns how many were new.

    The first scored date is a baseline (every lead "enters" it), and a backfill of a past date
    re-lives old news: neither alerts anyone.
    """
    con.execute("create schema if not exists ops")
    con.execute(ALERTS_TABLE)
    latest, previous = con.execute(
        "select (select max(as_of_date) from marts.lead_score_history), "
        "(select max(previous_as_of_date) from marts.segment_changes where as_of_date = ?)",
        [as_of],
    ).fetchone()
    if latest is not None and as_of < latest:
        return AlertRun(0, f"{as_of} is a backfill (the history reaches {latest})")
    if previous is None:
        return AlertRun(0, f"{as_of} is the first scored date: a baseline, not news")
    before = con.execute("select count(*) from ops.alerts").fetchone()[0]
    con.execute(
        """
        insert into ops.alerts
        select
            changes.lead_id || '|' || changes.segment || '|' || strftime(changes.as_of_date, '%Y-%m-%d'),
            changes.lead_id, changes.segment, changes.as_of_date, changes.previous_as_of_date,
            scores.score, scores.score_label, scores.hot_trigger, scores.email, scores.first_name,
            scores.last_name, scores.company_name, now(), null, null
        from marts.segment_changes as changes
        inner join marts.lead_scores as scores on scores.lead_id = changes.lead_id
        where changes.as_of_date = $as_of and changes.change = 'entered' and list_contains($segments, changes.segment)
        on conflict do nothing
        """,
        {"as_of": as_of, "segments": segments},
    )
    return AlertRun(con.execute("select count(*) from ops.alerts").fetchone()[0] - before)


def pending_alerts(con: duckdb.DuckDBPyConnection) -> list[dict]:
    columns = ", ".join(ALERT_COLUMNS)
    cursor = con.execute(f"select {columns} from ops.alerts where notified_at is null order by as_of_date, alert_id")
    return [
        {
            name: (value.isoformat() if isinstance(value, date) else value)
            for name, value in zip(ALERT_COLUMNS, row, strict=True)
        }
        for row in cursor.fetchall()
    ]


def mark_notified(con: duckdb.DuckDBPyConnection, alert_ids: list[str], channel: str) -> None:
    con.execute(
        "update ops.alerts set notified_at = now(), channel = ? where list_contains(?, alert_id)",
        [channel, alert_ids],
    )


class JsonlNotifier:
    """Appends one JSON object per alert to a file (the default: tail it, or ship it with any log agent)."""

    def __init__(self, path: Path):
        self.path = path

    @property
    def channel(self) -> str:
        return f"file:{self.path}"

    def send(self, alerts: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(alert, default=str, sort_keys=True) + "\n" for alert in alerts)


class WebhookNotifier:
    """POSTs `{"alerts": [...]}` as JSON to a URL (Slack workflow, Zapier, a CRM endpoint); any
    non-2xx answer or timeout raises, so the step's retry policy tries again."""

    def __init__(self, url: str, timeout_seconds: float = 10.0):
        self.url = url
        self.timeout_seconds = timeout_seconds

    @property
    def channel(self) -> str:
        return "webhook"  # the URL may carry a token: never stored

    def send(self, alerts: list[dict]) -> None:
        body = json.dumps({"alerts": alerts}, default=str).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            if not 200 <= response.status < 300:
                raise OSError(f"the alert webhook answered {response.status}")


def notifier_from_env(webhook_env: str, default_file: Path) -> JsonlNotifier | WebhookNotifier:
    """The webhook when its environment variable is set (a secret never kept in a file), else the file."""
    url = os.environ.get(webhook_env)
    return WebhookNotifier(url) if url else JsonlNotifier(default_file)
