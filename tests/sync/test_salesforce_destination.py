"""The Salesforce destination through the official client (simple-salesforce) against the local org
that enforces Salesforce's documented contract (salesforce_contract)."""

from __future__ import annotations

import logging

import pytest
from salesforce_contract import salesforce_org  # noqa: F401
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from leadops.sync.destination import CrmField, DestinationError, MembershipChange, Outgoing, QuotaExhausted
from leadops.sync.salesforce import SalesforceDestination

FIELDS = [
    CrmField("Lead_Score__c", "leadops score", "number", "0-100"),
    CrmField("Lead_Segment__c", "leadops segment", "string", "segment"),
    CrmField("Lead_Scored_On__c", "leadops as-of date", "date", "as of"),
    CrmField("Rating", "Rating", "string", "standard picklist"),
]
CUSTOM = [f for f in FIELDS if f.name.endswith("__c")]


@pytest.fixture
def org(salesforce_org):  # noqa: F811
    for object_type in ("Lead", "Contact"):
        salesforce_org.add_custom_fields(object_type, CUSTOM)
    return salesforce_org


def destination(org, sleeps=None, **options) -> SalesforceDestination:
    credentials = options.pop("credentials", {"access_token": org.token})
    return SalesforceDestination(
        org.url,
        **credentials,
        api_version=org.api_version,
        sleep=(sleeps if sleeps is not None else []).append,
        bulk_poll_seconds=0.01,
        **options,
    )


def values(n: int) -> dict[str, str | None]:
    return {
        "Lead_Score__c": str(n % 100),
        "Lead_Segment__c": "hot" if n % 3 == 0 else "warm",
        "Lead_Scored_On__c": "2026-12-03",
        "Rating": "Hot" if n % 3 == 0 else "Warm",
    }


def leads(org, count: int, object_type: str = "Lead") -> list[Outgoing]:
    return [
        Outgoing(
            f"lead-{n}", org.add_record(object_type, f"p{n}@example.com"), f"p{n}@example.com", object_type, values(n)
        )
        for n in range(count)
    ]


def test_client_credentials_login_works_and_no_secret_shows(org, caplog):
    caplog.set_level(logging.DEBUG)
    dest = destination(org, credentials={"client_id": org.client_id, "client_secret": org.client_secret})
    assert dest.missing_fields(FIELDS) == []
    assert dest.api_calls == 3  # the token request, then Lead and Contact describes
    assert org.calls("/services/oauth2/token")[0][3] == 200

    org.expire_sessions()  # the client credentials flow gets a new session by itself
    assert dest.missing_fields(FIELDS) == [] and len(org.calls("/services/oauth2/token")) == 2

    wrong = destination(org, credentials={"client_id": org.client_id, "client_secret": "not-the-secret"})
    with pytest.raises(DestinationError, match="connected app with the OAuth scope 'api'") as refused:
        wrong.missing_fields(FIELDS)
    assert "invalid_client" in str(refused.value) and "not-the-secret" not in str(refused.value)

    stale = "00Dstale" + org.client_secret
    with pytest.raises(DestinationError, match="INVALID_SESSION_ID") as expired:
        destination(org, credentials={"access_token": stale}).send(leads(org, 1))
    assert stale not in str(expired.value) and stale not in repr(expired.value.__cause__)
    assert org.token not in caplog.text and stale not in caplog.text and org.client_secret not in caplog.text


def test_missing_custom_fields_name_each_field_object_and_type(salesforce_org):  # noqa: F811
    salesforce_org.add_custom_fields("Lead", CUSTOM[:1])
    dest = destination(salesforce_org)
    assert dest.missing_fields(FIELDS) == ["Lead_Score__c", "Lead_Segment__c", "Lead_Scored_On__c"]
    with pytest.raises(DestinationError) as missing:
        dest.ensure_fields(FIELDS)
    message = str(missing.value)
    assert "Setup > Object Manager" in message
    assert "on Lead: Lead_Segment__c (Text(255)" in message and "Lead_Scored_On__c (Date" in message
    assert "on Contact: Lead_Score__c (Number(14, 4)" in message
    assert not salesforce_org.calls("composite")  # reads only


def test_450_records_take_three_composite_calls(org):
    dest = destination(org)
    assert dest.ensure_fields(FIELDS) == []
    records = leads(org, 450)
    outcomes = dest.send(records)
    assert len(outcomes) == 450 and all(o.accepted for o in outcomes)
    assert [c[2] for c in org.calls("composite/sobjects", "PATCH")] == [200, 200, 50]
    record = org.records[records[7].record_id]
    assert record["Lead_Score__c"] == 7 and record["Lead_Segment__c"] == "warm"
    assert record["Lead_Scored_On__c"] == "2026-12-03" and record["Rating"] == "Warm"
    assert org.written_ids() == [r.record_id for r in records]


def test_the_org_rejects_201_records_in_one_call(org):
    sf = Salesforce(instance_url=org.url, session_id=org.token, version=org.api_version)
    rows = [{"attributes": {"type": "Lead"}, "Id": r.record_id, "Lead_Score__c": 1} for r in leads(org, 201)]
    with pytest.raises(SalesforceMalformedRequest) as rejected:
        sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": rows})
    assert rejected.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT" and not org.written_ids()
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        sf.query("SELECT Id FROM Lead WHERE Email LIKE 'p%'")


def test_a_refused_record_never_fails_the_others(org):
    records = leads(org, 5)
    org.delete_record(records[1].record_id)
    org.fail_record(records[3].record_id)
    outcomes = {o.lead_id: o for o in destination(org).send(records)}
    assert outcomes["lead-1"].message == "ENTITY_IS_DELETED: entity is deleted" and not outcomes["lead-1"].accepted
    assert outcomes["lead-3"].message.startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION: ")
    assert [o.accepted for o in outcomes.values()] == [True, False, True, False, True]
    unknown = Outgoing("lead-9", records[0].record_id, None, "Lead", {"No_Such__c": "1"})
    twin = Outgoing("lead-10", None, records[2].email, "Lead", values(10))  # same email as lead-2
    answers = {o.lead_id: (o.accepted, o.message) for o in destination(org).send([unknown, records[2], twin])}
    assert answers == {
        "lead-9": (False, "INVALID_FIELD: No such column 'No_Such__c' on sobject of type Lead"),
        "lead-2": (True, None),
        "lead-10": (False, "lead lead-2 writes the same Salesforce record in this run"),
    }


def test_a_converted_leads_contact_is_written_as_contact(org):
    (lead,) = leads(org, 1)
    contact_id = org.convert_lead(lead.record_id)
    as_contact = Outgoing(lead.lead_id, contact_id, lead.email, "Contact", {"Lead_Score__c": "88.5", "Rating": None})
    (outcome,) = destination(org).send([as_contact])
    assert outcome.accepted and outcome.record_id == contact_id
    assert org.records[contact_id]["type"] == "Contact" and org.records[contact_id]["Lead_Score__c"] == 88.5
    (stale,) = destination(org).send([lead])
    assert stale.message == "CANNOT_UPDATE_CONVERTED_LEAD: cannot reference converted lead"


def test_leads_without_an_id_are_matched_by_email(org):
    lead_id = org.add_record("Lead", "Ann@Example.com")
    contact_id = org.add_record("Contact", "bob@example.com")
    converted = org.add_record("Lead", "cy@example.com")
    cy_contact = org.convert_lead(converted)
    records = [
        Outgoing("ann", None, "ann@example.com", "Lead", {"Lead_Score__c": "10"}),
        Outgoing("bob", None, "bob@example.com", "Lead", {"Lead_Score__c": "20"}),
        Outgoing("cy", None, "cy@example.com", "Lead", {"Lead_Score__c": "30"}),
        Outgoing("dee", None, "dee@example.com", "Lead", {"Lead_Score__c": "40"}),
    ]
    outcomes = {o.lead_id: o for o in destination(org).send(records)}
    assert {k: o.record_id for k, o in outcomes.items() if o.accepted} == {
        "ann": lead_id,
        "bob": contact_id,
        "cy": cy_contact,
    }
    assert outcomes["dee"].message == "no Salesforce Lead or Contact has this email"
    assert org.records[contact_id]["Lead_Score__c"] == 20 and org.records[converted].get("Lead_Score__c") is None
    assert len(org.calls("/query")) == 2  # one SOQL lookup among Leads, one among Contacts


def test_a_503_once_is_retried_and_counted_and_retry_after_honoured(org):
    records = leads(org, 3)
    sleeps: list[float] = []
    dest = destination(org, sleeps)
    dest.missing_fields(FIELDS)  # describes first, so the faults land on the write
    before = dest.api_calls
    org.fail_next(503, path="composite")
    assert all(o.accepted for o in dest.send(records))
    assert dest.api_calls == before + 2 and len(sleeps) == 1
    org.fail_next(429, retry_after=1.5, path="composite")
    assert all(o.accepted for o in dest.send(records))
    assert sleeps[-1] == 1.5 and [c[3] for c in org.calls("composite")] == [503, 200, 429, 200]


def test_a_spent_daily_limit_raises_quota_exhausted(org):
    dest = destination(org)
    records = leads(org, 3)
    dest.send(records[:1])
    org.daily_limit = org.api_used
    with pytest.raises(QuotaExhausted, match="REQUEST_LIMIT_EXCEEDED"):
        dest.send(records)
    assert org.calls("composite")[-1][3] == 403 and len(org.written_ids()) == 1
    org.new_day()
    assert all(o.accepted for o in dest.send(records))


def test_above_bulk_above_an_ingest_job_writes_with_the_same_outcomes(org):
    records = leads(org, 260)
    org.delete_record(records[5].record_id)
    records[9] = Outgoing("lead-9", records[9].record_id, None, "Lead", {**values(9), "Rating": None})
    org.records[records[9].record_id]["Rating"] = "Cold"
    bulk = destination(org, bulk_above=200)
    assert bulk.uses_bulk(260) and not bulk.uses_bulk(200)
    by_bulk = bulk.send(records)
    assert org.calls("jobs/ingest", "POST") and not org.calls("composite")
    assert org.records[records[9].record_id]["Rating"] is None  # #N/A cleared it
    assert org.records[records[10].record_id]["Lead_Score__c"] == 10
    by_composite = destination(org).send(records)

    def answers(outcomes):
        return sorted((o.lead_id, o.accepted, o.record_id, o.message) for o in outcomes)

    assert answers(by_bulk) == answers(by_composite)
    assert [o.message for o in by_bulk if not o.accepted] == ["ENTITY_IS_DELETED: entity is deleted"]
    assert bulk.api_calls <= 8  # describe-free: create, upload, close, polls, two result reads


def test_campaign_membership_follows_adds_and_removes(org):
    lead_a, lead_b = (org.add_record("Lead", f"{n}@example.com") for n in "ab")
    contact_c, lead_d = org.add_record("Contact", "c@example.com"), org.add_record("Lead", "d@example.com")
    gone = org.add_record("Lead", "gone@example.com")
    org.delete_record(gone)
    dest = destination(org)
    hot = dest.change_membership(MembershipChange("leadops: hot", [lead_a, lead_b, contact_c, gone], []))
    assert org.campaign_members("leadops: hot") == {lead_a, lead_b, contact_c}
    assert sorted(hot.added) == sorted([lead_a, lead_b, contact_c]) and set(hot.failed) == {gone}
    assert hot.list_id == org.campaign_id("leadops: hot")
    again = dest.change_membership(
        MembershipChange(
            "leadops: hot", [lead_b, lead_d], [lead_a, contact_c, "00Q5g0000099999999"], {contact_c: "Contact"}
        )
    )
    assert org.campaign_members("leadops: hot") == {lead_b, lead_d}
    assert sorted(again.added) == sorted([lead_b, lead_d]) and again.list_id == hot.list_id
    assert set(again.removed) == {lead_a, contact_c, "00Q5g0000099999999"} and not again.failed
    assert len(org.campaigns) == 1


def test_an_id_names_its_object_whatever_the_caller_thought():
    from leadops.sync.salesforce import _object_of

    # A lead from plain files matched by email to a Contact: state says Lead, the id says Contact.
    assert _object_of("0035g0000000001AAA", {"0035g0000000001AAA": "Lead"}) == "Contact"
    assert _object_of("00Q5g0000000001AAA", {}) == "Lead"
