"""The Salesforce destination: scores onto Lead records (Contact for a converted lead) through the
official client, simple-salesforce, and campaigns that follow segments.

Writes go through sObject Collections (`composite/sobjects`, at most 200 records a call, allOrNone
false so one refused record never fails the others); a send above `bulk_above` records goes through
one Bulk API 2.0 ingest job per object instead, a handful of calls whatever the volume. Requests
go through `retrying.call`: 5xx, 429 and dropped connections are retried, REQUEST_LIMIT_EXCEEDED
(the org's daily API limit) stops the sync cleanly.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError
from simple_salesforce.format import format_soql

from leadops.sync.destination import (
    CrmField,
    DestinationError,
    MembershipChange,
    MembershipOutcome,
    Outcome,
    Outgoing,
    QuotaExhausted,
)
from leadops.sync.retrying import RetryPolicy, Transient, call

T = TypeVar("T")

OBJECTS = ("Lead", "Contact")  # a converted lead's record is its Contact
COMPOSITE_LIMIT = 200  # records per sObject Collections request
LOOKUP_CHUNK = 100  # values per SOQL IN list: keeps the query URL well under Salesforce's 16 KB
FIELD_TYPES = {"number": "Number(14, 4)", "string": "Text(255)", "date": "Date"}
NUMBER_TYPES = {"double", "int", "currency", "percent", "long"}
ID_PREFIXES = {"00Q": "Lead", "003": "Contact"}
DEFAULT_RETRY = RetryPolicy()
CREDENTIALS_HELP = (
    "Salesforce refused the credentials ({code}). Use a connected app with the OAuth scope "
    "'api' (Manage user data via APIs) and the client credentials flow enabled with a run-as user, "
    "or a fresh access token, and the org's My Domain URL as the instance URL"
)


class _CountingAdapter(HTTPAdapter):
    """Counts every HTTP request the client makes (retries and the token request included), keeps
    the last response for its Retry-After, and gives requests a timeout the client does not set."""

    def __init__(self, owner: SalesforceDestination, timeout: float):
        super().__init__()
        self.owner, self.timeout = owner, timeout

    def send(self, request, **kwargs):  # type: ignore[override]
        self.owner.api_calls += 1
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().send(request, **kwargs)
        self.owner._last_response = response
        return response


class _Expired(Exception):
    """HTTP 401: the session expired or the token is refused; logging in again may help once."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _error_code(content: Any) -> str:
    """errorCode of a Salesforce error body ([{"errorCode", "message"}]), or ''."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error") or "")
    return ""


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _custom(name: str) -> bool:
    return name.endswith("__c")


def _object_of(record_id: str, object_types: Mapping[str, str]) -> str:
    # The id's prefix names its object, even for a lead matched by email that was a Contact.
    return ID_PREFIXES.get(record_id[:3]) or object_types.get(record_id) or "Lead"


class SalesforceDestination:
    """Salesforce as a Destination (see leadops.sync.destination).

    Credentials: an access token, or a connected app's client id and secret (OAuth 2.0 client
    credentials flow against `instance_url`, the org's My Domain URL). Neither is ever put in a
    message or a log.

    Volume: `send(records)` takes any number of records. Up to `bulk_above` it writes composite
    calls of `batch_size` (200); above, Bulk API 2.0 jobs. The sync should therefore call
    `send(whole change set)` once when `uses_bulk(len(change set))` is true, and batches of
    `batch_size` otherwise (so that a crash resends at most one batch).
    """

    name = "salesforce"
    batch_size = COMPOSITE_LIMIT

    def __init__(
        self,
        instance_url: str,
        *,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_version: str = "62.0",
        bulk_above: int = 10_000,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        timeout: float = 120.0,
        bulk_poll_seconds: float = 2.0,
    ):
        if not access_token and not (client_id and client_secret):
            raise DestinationError("Salesforce needs an access token, or a connected app's client id and secret")
        self.instance_url = instance_url.rstrip("/")
        self.api_version = api_version.removeprefix("v")
        self.bulk_above = max(bulk_above, COMPOSITE_LIMIT)
        self.retry, self.sleep, self.bulk_poll_seconds = retry, sleep, bulk_poll_seconds
        self.api_calls = 0
        self._token, self._client_id, self._client_secret = access_token, client_id, client_secret
        self._session = session or requests.Session()
        adapter = _CountingAdapter(self, timeout)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._last_response: requests.Response | None = None
        self._sf: Salesforce | None = None
        self._field_types: dict[str, dict[str, str]] = {}

    # -- the Destination protocol -------------------------------------------------------------

    def missing_fields(self, fields: Sequence[CrmField]) -> list[str]:
        missing = self.missing_by_object(fields)
        return [f.name for f in fields if any(f.name in names for names in missing.values())]

    def missing_by_object(self, fields: Sequence[CrmField]) -> dict[str, list[str]]:
        """Object -> the fields it lacks (or the integration user cannot edit); reads only."""
        missing = {}
        for object_type in OBJECTS:
            types = self._describe(object_type, fresh=True)
            # a standard Lead field such as Rating has no Contact counterpart: skipped there, not missing
            lacking = [f.name for f in fields if f.name not in types and (object_type == "Lead" or _custom(f.name))]
            if lacking:
                missing[object_type] = lacking
        return missing

    def ensure_fields(self, fields: Sequence[CrmField]) -> list[str]:
        # The API cannot add a custom field (only the Metadata API, with "Customize Application"),
        # so an administrator creates them: the message says where and with which type.
        missing = self.missing_by_object(fields)
        if not missing:
            return []
        by_name = {f.name: f for f in fields}
        parts = [
            f"on {object_type}: "
            + ", ".join(f"{name} ({FIELD_TYPES[by_name[name].type]}, label '{by_name[name].label}')" for name in names)
            for object_type, names in missing.items()
        ]
        raise DestinationError(
            "Salesforce lacks custom fields the sync writes; an administrator must create them in Setup > "
            "Object Manager > <object> > Fields & Relationships > New, editable by the integration user: "
            + "; ".join(parts)
            + ". Map each Lead field to its Contact field (Fields & Relationships > Map Lead Fields) so that "
            "converted leads keep their values."
        )

    def uses_bulk(self, count: int) -> bool:
        """Whether send() of `count` records goes through Bulk API 2.0 rather than composite calls."""
        return count > self.bulk_above

    def send(self, records: Sequence[Outgoing]) -> list[Outcome]:
        outcomes, targets = self._resolve(list(records))
        if not targets:
            return outcomes
        if self.uses_bulk(len(targets)):
            return outcomes + self._send_bulk(targets)
        # one request runs each run of consecutive same-type records as a chunk, at most 10 a call
        targets.sort(key=lambda target: target[2])
        for chunk in _chunks(targets, COMPOSITE_LIMIT):
            outcomes += self._send_composite(chunk)
        return outcomes

    send_all = send  # the name says it takes the whole change set; see the class docstring

    def change_membership(self, change: MembershipChange) -> MembershipOutcome:
        campaign_id = self._campaign(change.list_name)
        added, failed = self._add_members(campaign_id, change)
        removed, failed_removing = self._remove_members(campaign_id, change)
        failed.update(failed_removing)
        return MembershipOutcome(list_id=campaign_id, added=added, removed=removed, failed=failed)

    # -- writing records ----------------------------------------------------------------------

    def _resolve(self, records: list[Outgoing]) -> tuple[list[Outcome], list[tuple[Outgoing, str, str]]]:
        """(refusals, [(record, Salesforce Id, object type)]): records without an id are matched
        by email, first among unconverted Leads, then Contacts."""
        targets = [(r, r.record_id, r.object_type) for r in records if r.record_id]
        by_email = [r for r in records if not r.record_id]
        refused = [
            Outcome(r.lead_id, False, message="no email and no Salesforce record id to match")
            for r in by_email
            if not r.email
        ]
        emails = sorted({r.email.strip().lower() for r in by_email if r.email})
        found: dict[str, list[tuple[str, str]]] = {}
        for object_type, condition in (("Lead", "IsConverted = false AND "), ("Contact", "")):
            wanted = [e for e in emails if e not in found]
            for chunk in _chunks(wanted, LOOKUP_CHUNK):
                soql = format_soql(
                    f"SELECT Id, Email FROM {object_type} WHERE {condition}Email IN {{emails}}", emails=list(chunk)
                )
                for row in self._query(soql):
                    found.setdefault(str(row["Email"]).lower(), []).append((row["Id"], object_type))
        for record in by_email:
            if not record.email:
                continue
            matches = found.get(record.email.strip().lower(), [])
            if len(matches) == 1:
                targets.append((record, *matches[0]))
            elif matches:
                kinds = f"{len(matches)} Salesforce {matches[0][1]}s"
                refused.append(
                    Outcome(record.lead_id, False, message=f"{kinds} have this email; give the lead its record id")
                )
            else:
                refused.append(Outcome(record.lead_id, False, message="no Salesforce Lead or Contact has this email"))
        # two leads on one Salesforce record (a shared email) in one call: the first writes it, the
        # other is answered as refused and goes again next run, rather than one failing the call
        first: dict[str, str] = {}
        unique = []
        for record, record_id, object_type in targets:
            owner = first.setdefault(record_id[:15], record.lead_id)
            if owner == record.lead_id:
                unique.append((record, record_id, object_type))
            else:
                message = f"lead {owner} writes the same Salesforce record in this run"
                refused.append(Outcome(record.lead_id, False, record_id=record_id, message=message))
        return refused, unique

    def _send_composite(self, targets: Sequence[tuple[Outgoing, str, str]]) -> list[Outcome]:
        rows = [
            {"attributes": {"type": object_type}, "Id": record_id, **self._typed(object_type, record.values)}
            for record, record_id, object_type in targets
        ]
        body = {"allOrNone": False, "records": rows}
        results = self._call(lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body)) or []
        # SaveResults come back in the order of the request
        return [
            Outcome(record.lead_id, True, record_id=record_id)
            if result.get("success")
            else Outcome(record.lead_id, False, record_id=record_id, message=self._save_error(result))
            for (record, record_id, _), result in zip(targets, results, strict=True)
        ]

    def _send_bulk(self, targets: Sequence[tuple[Outgoing, str, str]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        by_object: dict[str, list[tuple[Outgoing, str]]] = defaultdict(list)
        for record, record_id, object_type in targets:
            by_object[object_type].append((record, record_id))
        for object_type, rows in by_object.items():
            # in Bulk API CSV an empty cell leaves the field alone; #N/A clears it
            data = [
                {"Id": rid, **{c: "#N/A" if v is None else v for c, v in self._writable(object_type, r.values).items()}}
                for r, rid in rows
            ]
            jobs = self._call(
                lambda sf, o=object_type, d=data: getattr(sf.bulk2, o).update(records=d, wait=self.bulk_poll_seconds)
            )
            # results come back in no set order: matched by Id (15 significant characters; _resolve
            # leaves one record per Id)
            pending = {record_id[:15]: (record, record_id) for record, record_id in rows}
            for job in jobs:
                job_id = job["job_id"]
                ok = self._call(lambda sf, o=object_type, j=job_id: getattr(sf.bulk2, o).get_successful_records(j))
                failed = self._call(lambda sf, o=object_type, j=job_id: getattr(sf.bulk2, o).get_failed_records(j))
                for row in csv.DictReader(io.StringIO(ok)):
                    if found := pending.pop((row.get("Id") or row.get("sf__Id") or "")[:15], None):
                        outcomes.append(Outcome(found[0].lead_id, True, record_id=found[1]))
                for row in csv.DictReader(io.StringIO(failed)):
                    if found := pending.pop((row.get("Id") or row.get("sf__Id") or "")[:15], None):
                        message = self._bulk_error(row.get("sf__Error", ""))
                        outcomes.append(Outcome(found[0].lead_id, False, record_id=found[1], message=message))
            # a row the job never reported on (unprocessed) is not synced: it goes again next run
            outcomes += [
                Outcome(r.lead_id, False, record_id=rid, message="not processed by the Bulk API job")
                for r, rid in pending.values()
            ]
        return outcomes

    def _typed(self, object_type: str, values: Mapping[str, str | None]) -> dict[str, Any]:
        """Values as JSON the field's type takes: numbers as numbers, the rest as text."""
        types = self._describe(object_type)
        typed: dict[str, Any] = {}
        for name, value in self._writable(object_type, values).items():
            typed[name] = value
            if value is not None and types.get(name) in NUMBER_TYPES:
                try:
                    number = float(value)
                except ValueError:
                    continue  # sent as text: Salesforce's refusal names the field
                typed[name] = int(number) if number.is_integer() and "." not in value else number
        return typed

    def _writable(self, object_type: str, values: Mapping[str, str | None]) -> dict[str, str | None]:
        """The values without standard fields the object lacks (Rating on a Contact); an unknown
        custom field stays, for Salesforce to refuse by name."""
        if object_type == "Lead":
            return dict(values)
        types = self._describe(object_type)
        return {name: value for name, value in values.items() if name in types or _custom(name)}

    @staticmethod
    def _save_error(result: Mapping[str, Any]) -> str:
        errors = result.get("errors") or [{}]
        return "; ".join(f"{e.get('statusCode', 'UNKNOWN')}: {e.get('message', '')}".strip() for e in errors)

    @staticmethod
    def _bulk_error(text: str) -> str:
        # sf__Error reads CODE:message:fields --, e.g. "ENTITY_IS_DELETED:entity is deleted:--"
        code, _, message = text.partition(":")
        head, colon, tail = message.rpartition(":")
        if colon and tail.strip().endswith("--"):
            message = head
        message = message.strip()
        return f"{code}: {message}" if message else code

    # -- campaigns ----------------------------------------------------------------------------

    def _campaign(self, name: str) -> str:
        rows = self._query(format_soql("SELECT Id FROM Campaign WHERE Name = {name}", name=name))
        if rows:
            return rows[0]["Id"]
        created = self._call(
            lambda sf: sf.restful("sobjects/Campaign", method="POST", json={"Name": name, "IsActive": True})
        )
        return created["id"]

    def _add_members(self, campaign_id: str, change: MembershipChange) -> tuple[list[str], dict[str, str]]:
        added: list[str] = []
        failed: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(change.add)), COMPOSITE_LIMIT):
            rows = [
                {
                    "attributes": {"type": "CampaignMember"},
                    "CampaignId": campaign_id,
                    f"{_object_of(record_id, change.object_types)}Id": record_id,
                }
                for record_id in chunk
            ]
            body = {"allOrNone": False, "records": rows}
            results = self._call(lambda sf, b=body: sf.restful("composite/sobjects", method="POST", json=b)) or []
            for record_id, result in zip(chunk, results, strict=True):
                codes = {e.get("statusCode") for e in result.get("errors") or []}
                if result.get("success") or codes == {"DUPLICATE_VALUE"}:  # already a member
                    added.append(record_id)
                else:
                    failed[record_id] = self._save_error(result)
        return added, failed

    def _remove_members(self, campaign_id: str, change: MembershipChange) -> tuple[list[str], dict[str, str]]:
        leaving = list(dict.fromkeys(change.remove))
        member_of: dict[str, str] = {}  # CampaignMember Id -> record id
        for object_type in OBJECTS:
            ids = [r for r in leaving if _object_of(r, change.object_types) == object_type]
            for chunk in _chunks(ids, LOOKUP_CHUNK):
                soql = format_soql(
                    "SELECT Id, LeadId, ContactId FROM CampaignMember"
                    f" WHERE CampaignId = {{c}} AND {object_type}Id IN {{ids}}",
                    c=campaign_id,
                    ids=list(chunk),
                )
                for row in self._query(soql):
                    member_of[row["Id"]] = row[f"{object_type}Id"]
        members = {record_id for record_id in member_of.values()}
        removed = [r for r in leaving if r not in members]  # not a member: nothing to remove
        failed: dict[str, str] = {}
        for chunk in _chunks(list(member_of), COMPOSITE_LIMIT):
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            results = self._call(lambda sf, p=params: sf.restful("composite/sobjects", method="DELETE", params=p)) or []
            for member_id, result in zip(chunk, results, strict=True):
                if result.get("success"):
                    removed.append(member_of[member_id])
                else:
                    failed[member_of[member_id]] = self._save_error(result)
        return removed, failed

    # -- HTTP ---------------------------------------------------------------------------------

    def _describe(self, object_type: str, fresh: bool = False) -> dict[str, str]:
        """Field name -> Salesforce type, of the fields the integration user can update."""
        if fresh or object_type not in self._field_types:
            described = self._call(lambda sf: sf.restful(f"sobjects/{object_type}/describe"))
            self._field_types[object_type] = {
                f["name"]: f.get("type", "string") for f in described.get("fields", []) if f.get("updateable", True)
            }
        return self._field_types[object_type]

    def _query(self, soql: str) -> list[dict[str, Any]]:
        return self._call(lambda sf: sf.query_all(soql))["records"]

    def _client(self) -> Salesforce:
        if self._sf is None:
            if not self._token:
                self._token = self._login()
            self._sf = Salesforce(
                instance_url=self.instance_url, session_id=self._token, version=self.api_version, session=self._session
            )
        return self._sf

    def _login(self) -> str:
        """OAuth 2.0 client credentials flow. simple-salesforce's own builds the token URL from a
        *.salesforce.com domain; asking the org's My Domain URL directly is the documented form and
        keeps any instance URL (a sandbox, the local contract server) usable."""

        def request() -> str:
            response = self._session.post(
                f"{self.instance_url}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
            )
            if response.status_code >= 500 or response.status_code == 429:
                raise Transient(f"token request: HTTP {response.status_code}", self._retry_after())
            if response.status_code != 200:
                try:
                    body = response.json()
                    code = f"{body.get('error')}: {body.get('error_description')}"
                except ValueError:
                    code = f"HTTP {response.status_code}"
                raise DestinationError(CREDENTIALS_HELP.format(code=code))
            body = response.json()
            if body.get("instance_url"):
                self.instance_url = body["instance_url"].rstrip("/")
            return body["access_token"]

        return call(request, self._classify, self.retry, sleep=self.sleep)

    def _call(self, request: Callable[[Salesforce], T]) -> T:
        """One client call, retried as `_classify` says; an expired session is renewed once."""
        sf = self._client()  # outside the retried call: the token request retries on its own
        try:
            return call(lambda: request(sf), self._classify, self.retry, sleep=self.sleep)
        except _Expired as expired:
            if not self._client_id:
                raise DestinationError(CREDENTIALS_HELP.format(code=f"HTTP 401 {expired.code}")) from None
        self._token, self._sf = None, None
        sf = self._client()
        try:
            return call(lambda: request(sf), self._classify, self.retry, sleep=self.sleep)
        except _Expired as again:
            raise DestinationError(CREDENTIALS_HELP.format(code=f"HTTP 401 {again.code}")) from None

    def _retry_after(self) -> float | None:
        value = self._last_response.headers.get("Retry-After") if self._last_response is not None else None
        try:
            return float(value) if value else None
        except ValueError:
            return None

    def _classify(self, error: Exception) -> Exception | None:
        if isinstance(error, (Transient, DestinationError, QuotaExhausted)):
            return error
        if isinstance(error, (requests.ConnectionError, requests.Timeout)):
            return Transient(f"connection to Salesforce: {type(error).__name__}")
        if isinstance(error, SalesforceError):
            status, code = error.status, _error_code(error.content)
            if status >= 500 or status == 429:
                return Transient(f"Salesforce answered HTTP {status} {code}".strip(), self._retry_after())
            if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
                return QuotaExhausted(
                    "Salesforce's daily API request limit is spent (REQUEST_LIMIT_EXCEEDED); the sync resumes next run"
                )
            if status == 401:
                return _Expired(code or "INVALID_SESSION_ID")
            return DestinationError(
                f"Salesforce answered HTTP {status} to {error.resource_name or 'a request'}: {error.content}"
            )
        if isinstance(error, SalesforceOperationError):
            return DestinationError(f"Salesforce Bulk API job failed: {error}")
        return None
