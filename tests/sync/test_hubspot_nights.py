"""Several nights of changing scores synced to a HubSpot that enforces its documented contract,
through the official client: after each night the CRM's contacts hold exactly what leadops
published, only the records whose values changed were sent, and each list equals its segment.

Night 1 is refreshed without a token and synced by `leadops sync` (after a dry run that must write
nothing); the next nights run the refresh with the token, so the `crm/hubspot` asset syncs. Leads
come from plain files, so they are matched by email and keep the contact id HubSpot answers."""

import contextlib
import io
from datetime import date, timedelta

import duckdb
import pytest
from hubspot_contract import hubspot_crm  # noqa: F401

from cli.main import main
from leadops.demo_data import generate
from leadops.exports import TOP_REASONS_CTES

pytestmark = pytest.mark.integration
NIGHT_1 = date(2026, 6, 29)
LISTS = {"sql": "leadops: sales-qualified", "mql": "leadops: marketing-qualified"}
COMPARED = {  # HubSpot property -> the published column it must equal
    "leadops_score": "cast(scores.score as varchar)",
    "leadops_segment": "scores.segment",
    "leadops_label": "scores.score_label",
    "leadops_fit_grade": "scores.fit_grade",
    "leadops_engagement_tier": "scores.engagement_tier",
    "leadops_hot_trigger": "coalesce(scores.hot_trigger, '')",
    "leadops_top_reasons": "coalesce(reasons.top_reasons, '')",
}
WRITES = ("/batch/update", "/batch/upsert", "/memberships/add-and-remove")


def _run(landing, warehouse, as_of: date) -> None:
    command = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", str(as_of), "--quiet"]
    assert main(command) == 0


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


def _published(warehouse) -> dict[str, dict[str, str]]:
    """email -> the values the published copy holds for it, as HubSpot stores them."""
    columns = ", ".join(f"{sql} as {name}" for name, sql in COMPARED.items())
    with duckdb.connect(str(warehouse.parent / "published" / "leadops.duckdb"), read_only=True) as con:
        con.execute("use leadops")
        rows = con.execute(
            f"with {TOP_REASONS_CTES} select scores.email, scores.segment, {columns} "
            "from marts.lead_scores as scores left join reasons using (lead_id)"
        ).fetchall()
    return {email: dict(zip(["segment", *COMPARED], values, strict=True)) for email, *values in rows}


def _crm_state(crm) -> dict[str, dict[str, str]]:
    return {
        values["email"]: {name: values.get(name, "") for name in COMPARED}
        for values in crm.contacts.values()
        if "leadops_score" in values
    }


def _assert_crm_equals_published(crm, warehouse) -> dict[str, dict[str, str]]:
    published = _published(warehouse)
    expected = {email: {k: v for k, v in row.items() if k != "segment"} for email, row in published.items()}
    assert _crm_state(crm) == expected
    id_of = {values["email"]: contact_id for contact_id, values in crm.contacts.items()}
    for segment, name in LISTS.items():
        assert crm.list_members(name) == {id_of[e] for e, row in published.items() if row["segment"] == segment}
    return published


def test_nights_of_changes_reach_hubspot_exactly_once(tmp_path, hubspot_crm, monkeypatch):  # noqa: F811
    crm = hubspot_crm
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    generate(landing, leads=300, seed=11, end_date=NIGHT_1 + timedelta(days=2))
    _run(landing, warehouse, NIGHT_1)  # no token yet: no sync asset

    monkeypatch.setenv("LEADOPS_HUBSPOT_TOKEN", crm.token)
    monkeypatch.setenv("LEADOPS_HUBSPOT_BASE_URL", crm.url)
    code, out = _cli("sync", "hubspot", "--dry-run", "--warehouse", str(warehouse))
    leads = len(_published(warehouse))
    assert code == 0, out
    assert f"{leads} leads considered, {leads} changed" in out
    assert "missing fields" in out and "leadops_score" in out
    assert not [r for r in crm.requests if r[0] != "GET"], "a dry run called a write endpoint"

    code, out = _cli("sync", "hubspot", "--warehouse", str(warehouse))
    assert code == 0, out
    assert f"sent {leads}, accepted {leads}, failed 0" in out
    assert len(crm.calls("/batch/upsert")) == -(-leads // 100)  # by email, 100 inputs a call
    night_1 = _assert_crm_equals_published(crm, warehouse)
    assert len(crm.written_ids()) == leads

    # Night 2 through the refresh, with a 503 and a burst of 429s to wait out on the way.
    crm.fail_next(status=503, times=1)
    crm.burst_429(times=2, retry_after=0.1)
    written_before = len(crm.written_ids())
    _run(landing, warehouse, NIGHT_1 + timedelta(days=1))
    night_2 = _assert_crm_equals_published(crm, warehouse)
    changed = {email for email, row in night_2.items() if row != night_1.get(email)}
    sent = crm.written_ids()[written_before:]
    id_of = {values["email"]: contact_id for contact_id, values in crm.contacts.items()}
    assert changed, "the demo data should move some scores overnight"
    assert sorted(sent) == sorted(id_of[email] for email in changed)  # the changed ones, each once
    assert len(sent) < leads

    # The same night again: nothing to send, nothing sent.
    written_before = len(crm.written_ids())
    _run(landing, warehouse, NIGHT_1 + timedelta(days=1))
    assert crm.written_ids()[written_before:] == []

    # A contact deleted in HubSpot: --full resends everything, that one is refused with HubSpot's
    # message, the others are accepted, status shows it, and the next sync tries it again.
    gone = next(cid for cid, values in crm.contacts.items() if values.get("leadops_segment") == "cold")
    crm.delete_contact(gone)
    code, out = _cli("sync", "hubspot", "--full", "--warehouse", str(warehouse))
    assert code == 1, out
    assert f"sent {leads}, accepted {leads - 1}, failed 1" in out
    code, out = _cli("sync", "hubspot", "--warehouse", str(warehouse))
    assert "sent 1, accepted 0, failed 1" in out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (failures, error) = con.execute(
            "select failures, error from ops.sync_state where destination = 'hubspot' and record_id = ?", [gone]
        ).fetchone()
        runs = con.execute("select count(*), sum(api_calls) from ops.sync_runs where not dry_run").fetchone()
    assert failures == 2 and "deleted" in error
    assert runs[0] == 5 and runs[1] > 0
    code, out = _cli("status", "--warehouse", str(warehouse))
    assert "refused records waiting for the next sync: 1" in out
    assert crm.token not in out
