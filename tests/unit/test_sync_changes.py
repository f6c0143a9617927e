"""The sync's bookkeeping on a small hand-made warehouse and an in-memory destination: only changes
are sent, a crash resends at most the batch in flight, a spent quota resumes, and each lead's values
go to the record its CRM knows it by."""

from collections import Counter
from datetime import date

import duckdb
import pytest

from leadops.sync.destination import MembershipOutcome, Outcome, QuotaExhausted
from leadops.sync.run import sync
from leadops.sync.settings import load_sync_config

LEADS = 250


class Crash(Exception):
    """The process dying after the CRM took a batch and before leadops marked it."""


class MemoryCrm:
    name, batch_size = "hubspot", 100

    def __init__(self, crash_on_call: int | None = None, quota_calls: int | None = None):
        self.api_calls, self.crash_on_call, self.quota_calls = 0, crash_on_call, quota_calls
        self.records: dict[str, dict] = {}
        self.sent: list[str] = []
        self.lists: dict[str, set[str]] = {}

    def missing_fields(self, fields):
        return []

    def ensure_fields(self, fields):
        return []

    def send(self, records):
        self.api_calls += 1
        if self.quota_calls is not None and self.api_calls > self.quota_calls:
            raise QuotaExhausted("DAILY")
        for record in records:
            self.records[record.record_id or f"id-{record.email}"] = record
            self.sent.append(record.lead_id)
        if self.api_calls == self.crash_on_call:
            raise Crash
        return [Outcome(r.lead_id, True, r.record_id or f"id-{r.email}") for r in records]

    def change_membership(self, change):
        self.api_calls += 1
        members = self.lists.setdefault(change.list_name, set())
        members |= set(change.add)
        members -= set(change.remove)
        return MembershipOutcome("1", list(change.add), list(change.remove), {})


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        f"""
        create table marts.lead_scores as
        select 'L' || lpad(i::varchar, 4, '0') as lead_id, 'l' || i || '@example.com' as email,
            case when i % 10 = 0 then 'sql' else 'cold' end as segment, cast(i % 97 as decimal(12, 2)) as score,
            'B' as fit_grade, '2' as engagement_tier, 'B2' as score_label, null::varchar as hot_trigger,
            date '2026-06-30' as as_of_date
        from range({LEADS}) as t(i)
        """
    )
    con.execute(
        "create table marts.lead_score_factors as select lead_id, 'fit' as factor, 5.0 as points from marts.lead_scores"
    )
    con.execute("create table marts.segment_members as select lead_id, segment from marts.lead_scores")
    yield con
    con.close()


def _sync(con, crm, **options):
    return sync(con, "hubspot", crm, load_sync_config(), None, sync_id="t", **options)


def test_only_changed_values_are_sent_and_a_new_date_alone_is_no_change(con):
    crm = MemoryCrm()
    assert _sync(con, crm).accepted == LEADS
    assert _sync(con, crm).sent == 0
    con.execute("update marts.lead_scores set as_of_date = date '2026-07-01'")
    assert _sync(con, crm).sent == 0
    con.execute("update marts.lead_scores set score = score + 1 where lead_id in ('L0003', 'L0007')")
    crm.sent.clear()
    report = _sync(con, crm)
    assert sorted(crm.sent) == ["L0003", "L0007"] and report.changed == 2
    assert crm.records["id-l3@example.com"].values["leadops_as_of_date"] == "2026-07-01"
    assert _sync(con, crm, full=True).sent == LEADS


def test_a_crash_between_sending_and_marking_resends_only_that_batch(con):
    crashing = MemoryCrm(crash_on_call=2)
    with pytest.raises(Crash):
        _sync(con, crashing)
    resumed = MemoryCrm()
    report = _sync(con, resumed)
    assert report.sent == LEADS - 100  # batch 1 was marked; batch 2 (in flight) and 3 go again
    assert set(crashing.sent[100:200]) <= set(resumed.sent)
    assert max(Counter(crashing.sent + resumed.sent).values()) == 2


def test_a_spent_quota_stops_cleanly_and_the_next_run_resumes(con):
    report = _sync(con, MemoryCrm(quota_calls=1))
    assert report.accepted == 100 and "daily quota" in report.stopped
    (stopped,) = con.execute("select stopped from ops.sync_runs").fetchone()
    assert "daily quota" in stopped
    assert _sync(con, MemoryCrm()).sent == LEADS - 100


def test_lists_follow_their_segment(con):
    crm = MemoryCrm()
    _sync(con, crm)
    sql = {f"id-l{i}@example.com" for i in range(0, LEADS, 10)}
    assert crm.lists["leadops: sales-qualified"] == sql
    con.execute("update marts.segment_members set segment = 'cold' where lead_id = 'L0010'")
    con.execute("update marts.lead_scores set segment = 'cold' where lead_id = 'L0010'")
    report = _sync(con, crm)
    assert crm.lists["leadops: sales-qualified"] == sql - {"id-l10@example.com"}
    assert [(x.added, x.removed) for x in report.lists if x.segment == "sql"] == [(0, 1)]


def test_a_dry_run_writes_nothing_and_counts_per_field(con):
    report = _sync(con, None, dry_run=True)
    assert report.changed == LEADS and report.field_changes["leadops_score"] == LEADS
    assert not con.execute("select count(*) from ops.sync_state").fetchone()[0]
    assert dict(report.segments) == {"sql": 25, "cold": 225}


def test_a_converted_salesforce_lead_is_written_on_its_contact(con):
    con.execute("create schema raw")
    con.execute(
        "create table raw.lead_attributes as select * from (values ('L0001', 'crm_object_type', 'lead'), "
        "('L0001', 'converted_contact_id', '003C1'), ('L0002', 'crm_object_type', 'contact')) "
        "as t(lead_id, attribute, value)"
    )
    crm = MemoryCrm()
    crm.name, crm.batch_size = "salesforce", 200
    sync(con, "salesforce", crm, load_sync_config(), "salesforce", sync_id="t")
    assert crm.records["003C1"].object_type == "Contact" and crm.records["003C1"].lead_id == "L0001"
    assert crm.records["L0002"].object_type == "Contact"
    assert crm.records["L0003"].object_type == "Lead"
    assert date.fromisoformat(crm.records["L0003"].values["Scored_As_Of__c"]) == date(2026, 6, 30)
