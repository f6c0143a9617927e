"""HubSpot as a sync destination: contact properties in a leadops group, batch writes of 100, static lists.

Everything goes through HubSpot's official client (hubspot-api-client) and every HTTP request through
`retrying.call`, paced by a `Window` under HubSpot's per-10-second limit. The private-app token is
handed to the client and kept nowhere else: it is never logged nor put in a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import hubspot
import urllib3
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.lists import ListCreateRequest, MembershipChangeRequest
from hubspot.crm.lists.exceptions import ApiException as ListsApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from leadops.sync import retrying
from leadops.sync.destination import (
    CrmField,
    DestinationError,
    MembershipChange,
    MembershipOutcome,
    Outcome,
    Outgoing,
    QuotaExhausted,
)
from leadops.sync.retrying import RetryPolicy, Transient, Window

T = TypeVar("T")

# each API package of the client raises its own ApiException class, all of one shape (status, headers, body)
API_EXCEPTIONS = (ContactsApiException, PropertiesApiException, ListsApiException)

BATCH_LIMIT = 100  # inputs per batch call, HubSpot's documented maximum (101 is refused)
# HubSpot documents no per-call maximum for memberships/add-and-remove (only 100,000 for add-from);
# 100 ids per call keeps each request as small as the batch endpoints' and a failure cheap to retry.
MEMBERS_PER_CALL = 100
CONTACTS_OBJECT_TYPE_ID = "0-1"
TIMEOUT = (10.0, 60.0)  # connect, read seconds: a hung connection becomes a retried failure, not a hung sync
# HubSpot's data type -> the form field type it pairs with
FIELD_TYPES = {"number": ("number", "number"), "string": ("string", "text"), "date": ("date", "date")}
SCOPES = (
    "crm.objects.contacts.read, crm.objects.contacts.write, crm.schemas.contacts.read, "
    "crm.schemas.contacts.write, crm.lists.read, crm.lists.write"
)


@dataclass
class _Refused(Exception):
    """A 4xx other than auth and rate limits: the CRM's verdict on this request, with its own words."""

    status: int
    category: str | None
    message: str
    context_values: frozenset[str]  # every value named in the error's context (ids, emails)
    correlation_id: str | None

    def describe(self) -> str:
        reference = f" (correlationId {self.correlation_id})" if self.correlation_id else ""
        return f"HTTP {self.status} {self.category or ''}: {self.message}{reference}".replace("  ", " ")


class HubSpotDestination:
    name = "hubspot"
    batch_size = BATCH_LIMIT

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.hubapi.com",
        *,
        group: str = "leadops",
        group_label: str = "leadops",
        requests_per_10_seconds: int = 100,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen, so one shared default is harmless)
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not token:
            raise DestinationError("No HubSpot token: set LEADOPS_HUBSPOT_TOKEN to a private app's access token.")
        # retries are tenacity's (counted in api_calls); urllib3's own would be hidden from the count
        client = hubspot.HubSpot(access_token=token, host=base_url.rstrip("/"), retry=Retry(total=0))
        self._contacts = client.crm.contacts.batch_api
        self._properties = client.crm.properties.core_api
        self._groups = client.crm.properties.groups_api
        self._lists = client.crm.lists.lists_api
        self._memberships = client.crm.lists.memberships_api
        self.group, self.group_label = group, group_label
        self.retry, self._sleep = retry, sleep
        self.window = Window(requests_per_10_seconds, 10.0, clock=clock, sleep=sleep)
        self.api_calls = 0
        self._list_ids: dict[str, str] = {}  # list name (lower case, as HubSpot matches it) -> list id

    # -- fields -------------------------------------------------------------------------------------

    def missing_fields(self, fields: Sequence[CrmField]) -> list[str]:
        existing = self._request(lambda: self._properties.get_all("contacts", _request_timeout=TIMEOUT))
        names = {prop.name for prop in existing.results}
        return [field.name for field in fields if field.name not in names]

    def ensure_fields(self, fields: Sequence[CrmField]) -> list[str]:
        missing = set(self.missing_fields(fields))
        if not missing:
            return []
        self._ensure_group()
        created = []
        for field in (field for field in fields if field.name in missing):
            data_type, field_type = FIELD_TYPES[field.type]
            definition = PropertyCreate(
                name=field.name,
                label=field.label,
                description=field.description,
                type=data_type,
                field_type=field_type,
                group_name=self.group,
                form_field=False,
            )
            try:
                self._request(lambda d=definition: self._properties.create("contacts", d, _request_timeout=TIMEOUT))
            except _Refused as refused:
                if refused.status == 409:  # made meanwhile (or by a retried attempt): it exists, as wanted
                    continue
                raise DestinationError(
                    f"HubSpot refused to create contact property {field.name}: {refused.describe()}"
                ) from None
            created.append(field.name)
        return created

    def _ensure_group(self) -> None:
        groups = self._request(lambda: self._groups.get_all("contacts", _request_timeout=TIMEOUT))
        if any(group.name == self.group for group in groups.results):
            return
        definition = PropertyGroupCreate(name=self.group, label=self.group_label, display_order=-1)
        try:
            self._request(lambda: self._groups.create("contacts", definition, _request_timeout=TIMEOUT))
        except _Refused as refused:
            if refused.status != 409:
                raise DestinationError(
                    f"HubSpot refused to create property group {self.group}: {refused.describe()}"
                ) from None

    # -- records ------------------------------------------------------------------------------------

    def send(self, records: Sequence[Outgoing]) -> list[Outcome]:
        outcomes, writable = [], []
        for record in records:
            if record.object_type.lower() not in ("contact", "contacts"):
                outcomes.append(
                    Outcome(record.lead_id, False, message=f"HubSpot sync writes contacts, not {record.object_type}")
                )
            elif not record.record_id and not record.email:
                outcomes.append(
                    Outcome(record.lead_id, False, message="neither a HubSpot contact id nor an email to match it by")
                )
            else:
                writable.append(record)
        by_id = [r for r in writable if r.record_id]
        by_email = [r for r in writable if not r.record_id]
        for chunk in _unique_chunks(by_id, lambda r: r.record_id, BATCH_LIMIT):
            outcomes += self._write(chunk, self._update)
        for chunk in _unique_chunks(by_email, lambda r: r.email.strip().lower(), BATCH_LIMIT):
            outcomes += self._write(chunk, self._upsert)
        return outcomes

    def _write(self, chunk: list[Outgoing], write: Callable[[list[Outgoing]], list[Outcome]]) -> list[Outcome]:
        """One batch call. HubSpot refuses a whole batch for one record's sake (a value it cannot take,
        an unknown id): the records its error names are refused and the others resent; when it names
        none, halving finds them, so a refused record never blocks the rest."""
        try:
            return write(chunk)
        except _Refused as refused:
            if refused.category == "VALIDATION_ERROR" and "PROPERTY_DOESNT_EXIST" in refused.message:
                raise DestinationError(
                    f"HubSpot lacks a contact property leadops writes ({refused.message}); "
                    "let the sync create its fields, or create the properties in HubSpot."
                ) from None
            if refused.status not in (400, 404, 409):
                raise DestinationError(f"HubSpot refused a batch of contacts: {refused.describe()}") from None
            named = {id(r) for r in chunk if _keys(r) & refused.context_values}
            if len(chunk) == 1 or named:
                rest = [r for r in chunk if id(r) not in named] if named else []
                refused_now = [r for r in chunk if id(r) in named] if named else chunk
                outcomes = [Outcome(r.lead_id, False, message=refused.message) for r in refused_now]
                return outcomes + (self._write(rest, write) if rest else [])
            half = len(chunk) // 2
            return self._write(chunk[:half], write) + self._write(chunk[half:], write)

    def _update(self, chunk: list[Outgoing]) -> list[Outcome]:
        inputs = [SimplePublicObjectBatchInput(id=r.record_id, properties=_properties(r)) for r in chunk]
        batch = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        answer = self._request(lambda: self._contacts.update(batch, _request_timeout=TIMEOUT))
        failed, unattributed = _batch_errors(answer)
        returned = {result.id for result in answer.results or []}
        outcomes = []
        for record in chunk:
            if record.record_id in failed:
                outcomes.append(Outcome(record.lead_id, False, message=failed[record.record_id]))
            elif unattributed and record.record_id not in returned:
                outcomes.append(Outcome(record.lead_id, False, message="; ".join(unattributed)))
            else:  # a 200 or a 207 not naming it: written (a merged contact may answer with its new id)
                outcomes.append(Outcome(record.lead_id, True, record_id=record.record_id))
        return outcomes

    def _upsert(self, chunk: list[Outgoing]) -> list[Outcome]:
        inputs = [
            SimplePublicObjectBatchInputUpsert(id_property="email", id=r.email.strip(), properties=_properties(r))
            for r in chunk
        ]
        batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        answer = self._request(lambda: self._contacts.upsert(batch, _request_timeout=TIMEOUT))
        failed, unattributed = _batch_errors(answer)
        ids_by_email = {(result.properties or {}).get("email", "").lower(): result.id for result in answer.results}
        outcomes = []
        for record in chunk:
            email = record.email.strip().lower()
            if email in failed:
                outcomes.append(Outcome(record.lead_id, False, message=failed[email]))
            elif email in ids_by_email:
                outcomes.append(Outcome(record.lead_id, True, record_id=ids_by_email[email]))
            else:  # without the contact's id the lists cannot follow; the next run upserts it again
                message = "; ".join(unattributed) or "HubSpot's answer did not name this contact"
                outcomes.append(Outcome(record.lead_id, False, message=message))
        return outcomes

    # -- lists --------------------------------------------------------------------------------------

    def change_membership(self, change: MembershipChange) -> MembershipOutcome:
        list_id = self._static_list_id(change.list_name)
        added, removed, failed = [], [], {}
        adds, removes = list(dict.fromkeys(change.add)), list(dict.fromkeys(change.remove))
        while adds or removes:
            to_add, adds = adds[:MEMBERS_PER_CALL], adds[MEMBERS_PER_CALL:]
            to_remove, removes = removes[: MEMBERS_PER_CALL - len(to_add)], removes[MEMBERS_PER_CALL - len(to_add) :]
            request = MembershipChangeRequest(record_ids_to_add=to_add, record_ids_to_remove=to_remove)
            try:
                answer = self._request(
                    lambda r=request: self._memberships.add_and_remove(list_id, r, _request_timeout=TIMEOUT)
                )
            except _Refused as refused:
                raise DestinationError(
                    f"HubSpot refused to change list {change.list_name!r}: {refused.describe()}"
                ) from None
            missing = set(answer.record_ids_missing or [])
            added += [i for i in to_add if i not in missing]
            # a record HubSpot no longer has is in no list: its removal is done
            removed += to_remove
            failed |= {i: "no such contact in HubSpot (deleted or merged)" for i in to_add if i in missing}
        return MembershipOutcome(list_id=list_id, added=added, removed=removed, failed=failed)

    def _static_list_id(self, name: str) -> str:
        if name.lower() in self._list_ids:
            return self._list_ids[name.lower()]
        found = self._list_by_name(name)
        if found is None:
            definition = ListCreateRequest(name=name, object_type_id=CONTACTS_OBJECT_TYPE_ID, processing_type="MANUAL")
            try:
                found = self._request(lambda: self._lists.create(definition, _request_timeout=TIMEOUT)).list
            except _Refused as refused:
                found = self._list_by_name(name) if refused.status in (400, 409) else None
                if found is None:
                    raise DestinationError(f"HubSpot refused to create list {name!r}: {refused.describe()}") from None
        if found.processing_type not in ("MANUAL", "SNAPSHOT"):
            raise DestinationError(
                f"HubSpot list {name!r} is {found.processing_type}: leadops only keeps static (MANUAL) lists; "
                "rename that list or choose another list name."
            )
        self._list_ids[name.lower()] = str(found.list_id)
        return str(found.list_id)

    def _list_by_name(self, name: str):
        try:
            return self._request(
                lambda: self._lists.get_by_name(name, CONTACTS_OBJECT_TYPE_ID, _request_timeout=TIMEOUT)
            ).list
        except _Refused as refused:
            if refused.status == 404:
                return None
            raise DestinationError(f"HubSpot refused to look up list {name!r}: {refused.describe()}") from None

    # -- every request --------------------------------------------------------------------------------

    def _request(self, request: Callable[[], T]) -> T:
        try:
            return retrying.call(request, _classify, self.retry, on_attempt=self._before_request, sleep=self._sleep)
        except Transient as gave_up:
            raise DestinationError(
                f"HubSpot kept failing after {self.retry.attempts} attempts ({gave_up.reason}); "
                "nothing is marked synced, so the next run sends the same records again."
            ) from None
        except API_EXCEPTIONS as error:
            raise _refusal(error) from None

    def _before_request(self) -> None:
        self.window.wait_turn()
        self.api_calls += 1


def _classify(error: Exception) -> Exception | None:
    """What a failed request means: wait and retry, stop for the day, stop with a fix, or the CRM's refusal."""
    if isinstance(error, urllib3.exceptions.HTTPError):  # refused or dropped connections, timeouts
        return Transient(f"connection to HubSpot failed: {type(error).__name__}")
    if not isinstance(error, API_EXCEPTIONS) or not isinstance(error.status, int):
        return None
    status, body = error.status, _body(error)
    if status == 429:
        if body.get("policyName") == "DAILY":
            return QuotaExhausted(
                "HubSpot's daily API limit is spent (policy DAILY); it resets at midnight in the account's time "
                "zone. Records not yet accepted stay unsynced and the next run sends them."
            )
        return Transient(f"HubSpot rate limit {body.get('policyName') or ''}".strip(), _retry_after(error))
    if status in (401, 403):
        scopes = _required_scopes(body)
        detail = f" (HubSpot asks for {', '.join(scopes)})" if scopes else ""
        return DestinationError(
            f"HubSpot refused the token: HTTP {status} {body.get('category') or ''}{detail}. Create a private app "
            f"(Settings > Integrations > Private Apps) with the scopes {SCOPES}, and set its access token in "
            "LEADOPS_HUBSPOT_TOKEN."
        )
    if status >= 500 or status == 423:  # 423: HubSpot locks a record for a moment under concurrent writes
        return Transient(f"HubSpot answered HTTP {status}", _retry_after(error))
    return None


def _refusal(error: Any) -> _Refused:
    body = _body(error)
    values: set[str] = set()
    for err in [body, *(body.get("errors") or [])]:
        if isinstance(err, dict):
            for named in (err.get("context") or {}).values():
                values |= {str(v).lower() for v in named} if isinstance(named, list) else set()
    return _Refused(
        status=error.status,
        category=body.get("category"),
        message=str(body.get("message") or error.reason or "no message"),
        context_values=frozenset(values),
        correlation_id=body.get("correlationId"),
    )


def _body(error: Any) -> dict:
    raw = getattr(error, "body", None)
    try:
        parsed = json.loads(raw) if raw else {}
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _retry_after(error: Any) -> float | None:
    value = (getattr(error, "headers", None) or {}).get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:  # an HTTP date: rare from HubSpot; fall back to backoff
        return None


def _required_scopes(body: dict) -> list[str]:
    scopes: list[str] = []
    for err in body.get("errors") or []:
        if isinstance(err, dict):
            scopes += (err.get("context") or {}).get("requiredScopes") or []
    return scopes


def _batch_errors(answer: Any) -> tuple[dict[str, str], list[str]]:
    """A 207's per-record errors: key (id or lower-cased email) -> the CRM's message, and the messages
    that name no record."""
    failed: dict[str, str] = {}
    unattributed: list[str] = []
    for error in getattr(answer, "errors", None) or []:
        named = [str(v).lower() for values in (error.context or {}).values() for v in values or []]
        for key in named:
            failed[key] = error.message
        if not named:
            unattributed.append(error.message)
    return failed, unattributed


def _properties(record: Outgoing) -> dict[str, str]:
    # HubSpot clears a property given an empty string
    return {name: "" if value is None else value for name, value in record.values.items()}


def _keys(record: Outgoing) -> set[str]:
    return {key.strip().lower() for key in (record.record_id, record.email) if key}


def _unique_chunks(records: list[Outgoing], key: Callable[[Outgoing], Hashable], size: int) -> list[list[Outgoing]]:
    """Chunks of at most `size` in which no key repeats: HubSpot refuses a batch naming a contact twice."""
    chunks: list[tuple[list[Outgoing], set]] = []
    for record in records:
        k = key(record)
        target = next((c for c in chunks if len(c[0]) < size and k not in c[1]), None)
        if target is None:
            target = ([], set())
            chunks.append(target)
        target[0].append(record)
        target[1].add(k)
    return [chunk for chunk, _ in chunks]
