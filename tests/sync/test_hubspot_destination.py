"""The HubSpot destination, driven through the official client against the local HubSpot contract."""

from __future__ import annotations

import json
import logging

import hubspot
import pytest
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from hubspot_contract import HubSpotContract, hubspot_crm  # noqa: F401
from urllib3.util.retry import Retry

from leadops.sync.destination import (
    CrmField,
    DestinationError,
    MembershipChange,
    Outgoing,
    QuotaExhausted,
)
from leadops.sync.hubspot import HubSpotDestination
from leadops.sync.retrying import RetryPolicy, Window

FIELDS = [
    CrmField("leadops_score", "leadops score", "number", "The lead's score, 0-100"),
    CrmField("leadops_segment", "leadops segment", "string", "The lead's segment"),
    CrmField("leadops_as_of", "leadops as of", "date", "The scoring date"),
]


class Sleeps(list):
    """A `sleep` that records how long it was asked to wait, and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def destination(hubspot_crm, sleeps) -> HubSpotDestination:  # noqa: F811
    made = HubSpotDestination(hubspot_crm.token, hubspot_crm.url, sleep=sleeps)
    made.ensure_fields(FIELDS)
    return made


def lead(n: int, record_id: str | None = None, email: str | None = None, **values) -> Outgoing:
    values = values or {"leadops_score": str(n % 100), "leadops_segment": "hot", "leadops_as_of": "2026-12-03"}
    return Outgoing(f"L{n}", record_id, email, "contact", values)


def writes(crm: HubSpotContract) -> list[tuple[str, str, int, int]]:
    return crm.calls("/crm/v3/objects/contacts/batch/")


def test_ensure_fields_creates_the_group_and_properties_once(hubspot_crm, sleeps):  # noqa: F811
    destination = HubSpotDestination(hubspot_crm.token, hubspot_crm.url, sleep=sleeps)
    assert destination.missing_fields(FIELDS) == [field.name for field in FIELDS]
    assert not hubspot_crm.calls("/groups") and all(method == "GET" for method, *_ in hubspot_crm.requests)

    assert destination.ensure_fields(FIELDS) == [field.name for field in FIELDS]
    assert hubspot_crm.groups["leadops"]["label"] == "leadops"
    score, segment, as_of = (hubspot_crm.properties[field.name] for field in FIELDS)
    assert (score["type"], score["fieldType"], score["groupName"]) == ("number", "number", "leadops")
    assert (segment["type"], segment["fieldType"]) == ("string", "text")
    assert (as_of["type"], as_of["fieldType"], as_of["description"]) == ("date", "date", "The scoring date")

    creations = len([call for call in hubspot_crm.requests if call[0] == "POST"])
    assert destination.ensure_fields(FIELDS) == []
    assert destination.missing_fields(FIELDS) == []
    assert len([call for call in hubspot_crm.requests if call[0] == "POST"]) == creations == 4


def test_250_records_go_in_three_batch_calls_of_at_most_100(hubspot_crm, destination):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(250)]
    outcomes = destination.send([lead(n, record_id) for n, record_id in enumerate(ids)])

    assert [inputs for _, _, inputs, _ in writes(hubspot_crm)] == [100, 100, 50]
    assert all(outcome.accepted for outcome in outcomes) and len(outcomes) == 250
    assert {outcome.record_id for outcome in outcomes} == set(ids)
    assert hubspot_crm.contacts[ids[42]]["leadops_score"] == "42"
    assert hubspot_crm.written_ids() == ids


def test_the_server_refuses_101_inputs_and_takes_100(hubspot_crm, destination):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(101)]
    client = hubspot.HubSpot(access_token=hubspot_crm.token, host=hubspot_crm.url, retry=Retry(total=0))
    batch_api = client.crm.contacts.batch_api

    def batch(some: list[str]) -> BatchInputSimplePublicObjectBatchInput:
        inputs = [SimplePublicObjectBatchInput(id=i, properties={"leadops_score": "1"}) for i in some]
        return BatchInputSimplePublicObjectBatchInput(inputs=inputs)

    with pytest.raises(ApiException) as refused:
        batch_api.update(batch(ids))
    error = json.loads(refused.value.body)
    assert refused.value.status == 400 and error["category"] == "VALIDATION_ERROR" and "101" in error["message"]
    assert {"status", "message", "correlationId", "category"} <= error.keys()
    assert hubspot_crm.written_ids() == []
    assert len(batch_api.update(batch(ids[:100])).results) == 100


def test_the_server_refuses_malformed_bodies_and_unknown_properties(hubspot_crm, destination):  # noqa: F811
    contact = hubspot_crm.add_contact("a@example.com")
    batch_api = hubspot.HubSpot(access_token=hubspot_crm.token, host=hubspot_crm.url).crm.contacts.batch_api
    for body in ({"inputs": [{"id": contact}]}, {"records": []}, [contact]):
        with pytest.raises(ApiException) as refused:
            batch_api.update(body)
        assert refused.value.status == 400 and json.loads(refused.value.body)["category"] == "VALIDATION_ERROR"

    with pytest.raises(DestinationError, match="PROPERTY_DOESNT_EXIST"):
        destination.send([lead(1, contact, leadops_typo="1")])
    assert hubspot_crm.written_ids() == []


def test_upsert_by_email_creates_then_updates(hubspot_crm, destination):  # noqa: F811
    [created] = destination.send([lead(7, email="New.Lead@Example.com")])
    contact = hubspot_crm.contact_by_email("new.lead@example.com")
    assert created.accepted and contact["hs_object_id"] == created.record_id
    assert contact["leadops_score"] == "7"

    [updated] = destination.send([lead(7, email="new.lead@example.com", leadops_score="8", leadops_segment=None)])
    assert updated.record_id == created.record_id and len(hubspot_crm.contacts) == 1
    assert contact["leadops_score"] == "8" and contact["leadops_segment"] == ""  # None clears it
    assert [path for _, path, _, _ in writes(hubspot_crm)] == ["/crm/v3/objects/contacts/batch/upsert"] * 2


def test_one_contact_twice_goes_in_two_calls_and_a_bad_email_fails_alone(hubspot_crm, destination):  # noqa: F811
    records = [lead(1, email="same@example.com"), lead(2, email="SAME@example.com"), lead(3, email="not-an-email")]
    outcomes = {o.lead_id: o for o in destination.send(records)}

    assert outcomes["L1"].accepted and outcomes["L2"].accepted
    assert outcomes["L1"].record_id == outcomes["L2"].record_id
    assert not outcomes["L3"].accepted and "not a valid email" in outcomes["L3"].message
    # HubSpot refuses a batch naming one contact twice, and names the bad email, so no halving is needed
    assert [(inputs, status) for _, _, inputs, status in writes(hubspot_crm)] == [(2, 400), (1, 200), (1, 200)]


def test_records_without_id_or_email_are_refused_without_a_call(hubspot_crm, destination):  # noqa: F811
    [refused] = destination.send([lead(1)])
    assert not refused.accepted and "email" in refused.message
    assert writes(hubspot_crm) == []


def test_a_deleted_contact_is_refused_with_the_crms_message_and_the_others_accepted(hubspot_crm, destination):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(5)]
    hubspot_crm.delete_contact(ids[2])
    outcomes = {o.lead_id: o for o in destination.send([lead(n, record_id) for n, record_id in enumerate(ids)])}

    assert not outcomes["L2"].accepted
    assert "they may be deleted or not exist" in outcomes["L2"].message
    assert all(outcomes[f"L{n}"].accepted for n in (0, 1, 3, 4))
    assert [status for *_, status in writes(hubspot_crm)] == [207]
    assert hubspot_crm.written_ids() == [ids[0], ids[1], ids[3], ids[4]]


def test_a_value_hubspot_refuses_fails_only_its_record(hubspot_crm, destination):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(8)]
    records = [lead(n, record_id) for n, record_id in enumerate(ids)]
    records[5] = lead(5, ids[5], leadops_score="not a number")
    outcomes = {o.lead_id: o for o in destination.send(records)}

    assert not outcomes["L5"].accepted and "not a valid number" in outcomes["L5"].message
    assert sum(o.accepted for o in outcomes.values()) == 7
    assert set(hubspot_crm.written_ids()) == set(ids) - {ids[5]}
    assert len(writes(hubspot_crm)) <= 1 + 2 * 3  # halving: a few calls, not one per record


def test_a_429_burst_is_waited_out_as_retry_after_says(hubspot_crm, destination, sleeps):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(3)]
    calls_before = destination.api_calls
    hubspot_crm.burst_429(times=2, retry_after=3)
    outcomes = destination.send([lead(n, record_id) for n, record_id in enumerate(ids)])

    assert all(outcome.accepted for outcome in outcomes)
    assert sleeps == [3.0, 3.0]
    assert destination.api_calls - calls_before == 3
    assert [status for *_, status in writes(hubspot_crm)] == [429, 429, 200]


def test_a_503_once_is_retried(hubspot_crm, destination, sleeps):  # noqa: F811
    contact = hubspot_crm.add_contact("a@example.com")
    hubspot_crm.fail_next(status=503, times=1)
    [outcome] = destination.send([lead(1, contact)])

    assert outcome.accepted and len(sleeps) == 1
    assert [status for *_, status in writes(hubspot_crm)] == [503, 200]
    assert hubspot_crm.written_ids() == [contact]


def test_failures_that_outlast_the_retries_stop_the_destination(hubspot_crm, sleeps):  # noqa: F811
    destination = HubSpotDestination(hubspot_crm.token, hubspot_crm.url, retry=RetryPolicy(attempts=3), sleep=sleeps)
    hubspot_crm.fail_next(status=502, times=3)
    with pytest.raises(DestinationError, match="3 attempts"):
        destination.missing_fields(FIELDS)
    assert destination.api_calls == 3


def test_an_unreachable_hubspot_is_retried_then_reported(sleeps):
    with HubSpotContract() as crm:
        url = crm.url  # a port nothing listens on once the server is gone
    destination = HubSpotDestination(crm.token, url, retry=RetryPolicy(attempts=2), sleep=sleeps)
    with pytest.raises(DestinationError, match="connection to HubSpot failed"):
        destination.missing_fields(FIELDS)
    assert destination.api_calls == 2


def test_a_spent_daily_quota_raises_quota_exhausted(hubspot_crm, destination):  # noqa: F811
    contact = hubspot_crm.add_contact("a@example.com")
    hubspot_crm.daily_limit = hubspot_crm.requests_today
    calls_before = destination.api_calls
    with pytest.raises(QuotaExhausted, match="daily"):
        destination.send([lead(1, contact)])
    assert destination.api_calls - calls_before == 1  # not retried
    assert hubspot_crm.written_ids() == []


def test_a_bad_token_raises_a_destination_error_that_never_shows_it(hubspot_crm, sleeps, caplog):  # noqa: F811
    secret = "pat-na1-not-the-right-token-0123456789"
    destination = HubSpotDestination(secret, hubspot_crm.url, sleep=sleeps)
    with caplog.at_level(logging.DEBUG), pytest.raises(DestinationError) as refused:
        destination.ensure_fields(FIELDS)

    message = str(refused.value)
    assert "HTTP 401" in message and "crm.objects.contacts.write" in message and "crm.lists.write" in message
    chain = [refused.value, refused.value.__cause__, refused.value.__context__]
    assert all(secret not in repr(error) and secret not in str(error) for error in chain)
    assert secret not in caplog.text and secret not in repr(destination) and destination.api_calls == 1
    assert not sleeps  # an auth failure is not retried


def test_a_missing_scope_names_it(hubspot_crm, destination):  # noqa: F811
    hubspot_crm.revoke_scope("crm.lists.write")
    with pytest.raises(DestinationError, match=r"HTTP 403 MISSING_SCOPES \(HubSpot asks for crm.lists.write\)"):
        destination.change_membership(MembershipChange("Hot leads", add=[], remove=[]))


def test_list_membership_follows_the_requested_set(hubspot_crm, destination):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(240)]
    first = destination.change_membership(MembershipChange("Hot leads", add=ids[:150], remove=[]))
    assert hubspot_crm.list_members("Hot leads") == set(ids[:150]) == set(first.added)
    assert hubspot_crm.lists[first.list_id]["processingType"] == "MANUAL"

    hubspot_crm.delete_contact(ids[0])
    change = MembershipChange("hot leads", add=[*ids[150:240], "1"], remove=ids[:60])
    second = destination.change_membership(change)
    assert second.list_id == first.list_id and len(hubspot_crm.lists) == 1
    assert hubspot_crm.list_members("Hot leads") == set(ids[60:240])
    assert set(second.added) == set(ids[150:240]) and set(second.removed) == set(ids[:60])
    assert second.failed == {"1": "no such contact in HubSpot (deleted or merged)"}

    membership_calls = hubspot_crm.calls("/memberships/add-and-remove")
    assert all(inputs <= 100 for _, _, inputs, _ in membership_calls)
    assert len(membership_calls) == 2 + 2  # 150 ids, then 91 + 60


def test_memberships_read_back_page_by_page(hubspot_crm, destination):  # noqa: F811
    ids = [hubspot_crm.add_contact(f"lead{n}@example.com") for n in range(30)]
    list_id = destination.change_membership(MembershipChange("Warm", add=ids, remove=[])).list_id
    memberships = hubspot.HubSpot(access_token=hubspot_crm.token, host=hubspot_crm.url).crm.lists.memberships_api
    first = memberships.get_page(list_id, limit=20)
    rest = memberships.get_page(list_id, after=first.paging.next.after, limit=20)
    assert [m.record_id for m in first.results + rest.results] == ids and rest.paging is None


def test_the_server_answers_429_ten_secondly_rolling_past_its_window(hubspot_crm):  # noqa: F811
    with HubSpotContract(rate_limit=2, window_seconds=30) as crm:
        properties = hubspot.HubSpot(access_token=crm.token, host=crm.url, retry=Retry(total=0)).crm.properties
        properties.core_api.get_all("contacts")
        properties.core_api.get_all("contacts")
        with pytest.raises(PropertiesApiException) as limited:
            properties.core_api.get_all("contacts")
    assert limited.value.status == 429 and json.loads(limited.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert 1 <= int(limited.value.headers["Retry-After"]) <= 30


def test_the_window_paces_requests_under_the_limit():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    window = Window(3, 10.0, clock=lambda: now[0], sleep=sleep)
    for at in (0.0, 1.0, 2.0):
        now[0] = at
        window.wait_turn()
    assert waits == []
    now[0] = 4.0
    window.wait_turn()  # the 4th within 10 s waits until the 1st leaves the window
    assert waits == [6.0] and now[0] == 10.0
    now[0] = 25.0
    window.wait_turn()
    assert waits == [6.0]
