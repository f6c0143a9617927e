"""A local HubSpot CRM holding to the documented contract of the endpoints leadops uses.

HubSpot cannot be reached from the tests, so the official client is pointed at this server instead.
It implements, as documented (developers.hubspot.com, CRM v3): the bearer token check; contact
property groups and properties (list, create); contacts batch update and batch upsert by email (at
most 100 inputs, per-record errors as HTTP 207); static lists (create, get by name, add-and-remove,
read memberships); the per-10-second rolling limit and the daily limit as HTTP 429 with their
`policyName`; missing scopes as 403; and HubSpot's error body (status, message, correlationId,
category, errors, context). It holds only contacts (object type 0-1).

Tests use the `hubspot_crm` fixture, or `HubSpotContract(...)` as a context manager for other limits.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest
from hubspot_rules import (
    ALL_SCOPES,
    BATCH_LIMIT,
    DATA_TYPES,
    DEFAULT_PROPERTIES,
    EMAIL,
    MISSING_SCOPES,
    NO_CREDENTIALS,
    NOT_FOUND,
    PROPERTY_DEFAULTS,
    PROPERTY_NAME,
    READ_ONLY,
    _Answer,
    _invalid,
    _is_date,
    _is_number,
    _now,
    _object,
    _rate_limited,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROUTES = (  # method, path pattern, required scope, handler name
    ("GET", r"/crm/v3/properties/contacts/groups", "crm.schemas.contacts.read", "_get_groups"),
    ("POST", r"/crm/v3/properties/contacts/groups", "crm.schemas.contacts.write", "_create_group"),
    ("GET", r"/crm/v3/properties/contacts", "crm.schemas.contacts.read", "_get_properties"),
    ("POST", r"/crm/v3/properties/contacts", "crm.schemas.contacts.write", "_create_property"),
    ("POST", r"/crm/v3/objects/contacts/batch/update", "crm.objects.contacts.write", "_batch_update"),
    ("POST", r"/crm/v3/objects/contacts/batch/upsert", "crm.objects.contacts.write", "_batch_upsert"),
    ("POST", r"/crm/v3/lists/?", "crm.lists.write", "_create_list"),
    ("GET", r"/crm/v3/lists/object-type-id/([^/]+)/name/(.+)", "crm.lists.read", "_get_list_by_name"),
    ("PUT", r"/crm/v3/lists/(\d+)/memberships/add-and-remove", "crm.lists.write", "_add_and_remove"),
    ("GET", r"/crm/v3/lists/(\d+)/memberships", "crm.lists.read", "_get_memberships"),
)


class _QuickStopServer(HTTPServer):
    def thread_target(self) -> None:
        # pytest-httpserver's documented hook: a shorter poll stops the server in 0.05 s instead of 0.5 s
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)


class HubSpotContract:
    def __init__(
        self,
        *,
        token: str = "pat-na1-contract-test-token",
        rate_limit: int = 100,
        window_seconds: float = 10.0,
        daily_limit: int = 250_000,
    ):
        self.token, self.rate_limit, self.window_seconds = token, rate_limit, window_seconds
        self.daily_limit = daily_limit  # settable: crm.daily_limit = crm.requests_today spends the day
        self.scopes = set(ALL_SCOPES)
        self.contacts: dict[str, dict[str, str]] = {}
        self.requests: list[tuple[str, str, int, int]] = []  # method, path, inputs, status
        self.requests_today = 0
        self.groups: dict[str, dict] = {"contactinformation": self._group("contactinformation", "Contact information")}
        self.properties: dict[str, dict] = {}
        for name, (label, data_type, field_type) in DEFAULT_PROPERTIES.items():
            self.properties[name] = self._property(name, label, data_type, field_type, "contactinformation", "")
        self.lists: dict[str, dict] = {}
        self._written: list[str] = []
        self._created_at: dict[str, str] = {}
        self._recent: deque[float] = deque()
        self._faults: deque[_Answer] = deque()
        self._next_id = 51_000_001
        self._lock = threading.Lock()
        self._server = _QuickStopServer(host="127.0.0.1", port=0)

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> HubSpotContract:
        self._server.expect_request(re.compile("^/")).respond_with_handler(self._handle)
        self._server.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self._server.check_handler_errors()  # a crashed handler is a bug here, not a 500 to retry
        self._server.clear()
        if self._server.is_running():
            self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url_for("/").rstrip("/")

    # -- state for assertions and seeding -----------------------------------------------------------

    def add_contact(self, email: str, **properties: str) -> str:
        """A contact already in the CRM (e.g. a lead ingested from HubSpot, whose id is the CRM's)."""
        with self._lock:
            return self._create_contact(email, {k: str(v) for k, v in properties.items()})

    def contact_by_email(self, email: str) -> dict[str, str] | None:
        contact_id = self._id_by_email(email)
        return None if contact_id is None else self.contacts[contact_id]

    def delete_contact(self, contact_id: str) -> None:
        """As deleting in HubSpot: the contact goes, and with it its list memberships."""
        with self._lock:
            del self.contacts[contact_id]
            for static_list in self.lists.values():
                static_list["members"].pop(contact_id, None)

    def list_members(self, name: str) -> set[str]:
        found = self._list_by_name(name)
        return set() if found is None else set(found["members"])

    def written_ids(self) -> list[str]:
        """Every contact id written by batch update or upsert, in order, repeats kept."""
        return list(self._written)

    def calls(self, path_part: str) -> list[tuple[str, str, int, int]]:
        return [logged for logged in self.requests if path_part in logged[1]]

    # -- fault injection ----------------------------------------------------------------------------

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self._faults.extend(_Answer(status, "INTERNAL_ERROR", "Service Unavailable") for _ in range(times))

    def burst_429(self, times: int, retry_after: float = 1) -> None:
        self._faults.extend(_rate_limited("TEN_SECONDLY_ROLLING", retry_after) for _ in range(times))

    def revoke_scope(self, scope: str) -> None:
        self.scopes.discard(scope)

    # -- dispatch -----------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        # the raw path, so a list name holding "/" (sent as %2F) stays one segment
        raw_path = urlsplit(request.environ.get("RAW_URI") or request.path).path
        body = request.get_data()
        inputs = 0
        with self._lock:
            try:
                payload = json.loads(body) if body else None
                if isinstance(payload, dict) and isinstance(payload.get("inputs"), list):
                    inputs = len(payload["inputs"])
                elif isinstance(payload, dict):
                    inputs = len(payload.get("recordIdsToAdd") or []) + len(payload.get("recordIdsToRemove") or [])
            except ValueError:
                payload = ValueError
            try:
                status, answer, headers = self._answer(request, raw_path, payload)
            except _Answer as error:
                status, answer, headers = error.status, error.body, error.headers
            self.requests.append((request.method, unquote(raw_path), inputs, status))
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.rate_limit),
            "X-HubSpot-RateLimit-Remaining": str(max(self.rate_limit - len(self._recent), 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window_seconds * 1000)),
            **headers,
        }
        return Response(json.dumps(answer) if answer is not None else "", status, headers, "application/json")

    def _answer(self, request: Request, path: str, payload) -> tuple[int, dict | None, dict]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise _Answer(401, "INVALID_AUTHENTICATION", NO_CREDENTIALS)
        if self._faults:
            raise self._faults.popleft()
        self._spend_limits()
        for method, pattern, scope, handler in ROUTES:
            matched = re.fullmatch(pattern, path)
            if matched and method == request.method:
                if scope not in self.scopes:
                    required = {"message": "One or more of the following scopes are required."}
                    required["context"] = {"requiredScopes": [scope]}
                    links = {"scopes": "https://developers.hubspot.com/scopes"}
                    raise _Answer(403, "MISSING_SCOPES", MISSING_SCOPES, errors=[required], links=links)
                if payload is ValueError:
                    raise _invalid("Invalid input JSON on line 1: the body is not JSON")
                args = [unquote(group) for group in matched.groups()]
                return getattr(self, handler)(payload, request.args, *args)
        raise _Answer(404, "OBJECT_NOT_FOUND", f"No route for {request.method} {path}")

    def _spend_limits(self) -> None:
        if self.requests_today >= self.daily_limit:
            raise _rate_limited("DAILY")
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= self.window_seconds:
            self._recent.popleft()
        if len(self._recent) >= self.rate_limit:
            wait = self.window_seconds - (now - self._recent[0])
            raise _rate_limited("TEN_SECONDLY_ROLLING", retry_after=max(math.ceil(wait), 1))
        self._recent.append(now)
        self.requests_today += 1

    # -- properties ---------------------------------------------------------------------------------

    @staticmethod
    def _group(name: str, label: str, display_order: int = -1) -> dict:
        return {"name": name, "label": label, "displayOrder": display_order, "archived": False}

    @staticmethod
    def _property(name, label, data_type, field_type, group, description) -> dict:
        stamps = {"createdAt": _now(), "updatedAt": _now(), "hubspotDefined": name in DEFAULT_PROPERTIES}
        metadata = {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": name in READ_ONLY}
        described = {"name": name, "label": label, "description": description, "groupName": group}
        typed = {"type": data_type, "fieldType": field_type, "hasUniqueValue": name == "email"}
        return PROPERTY_DEFAULTS | stamps | described | typed | {"modificationMetadata": metadata}

    def _get_groups(self, payload, args):
        return 200, {"results": list(self.groups.values())}, {}

    def _create_group(self, payload, args):
        body = _object(payload)
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not PROPERTY_NAME.match(name) or not isinstance(label, str) or not label:
            raise _invalid("Property group needs a name (lower case letters, digits, _) and a label")
        if name in self.groups:
            raise _Answer(409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists.")
        self.groups[name] = self._group(name, label, int(body.get("displayOrder", -1)))
        return 201, self.groups[name], {}

    def _get_properties(self, payload, args):
        return 200, {"results": list(self.properties.values())}, {}

    def _create_property(self, payload, args):
        body = _object(payload)
        missing = [key for key in ("name", "label", "type", "fieldType", "groupName") if not body.get(key)]
        if missing:
            raise _invalid(f"Property is missing required fields: {missing}", context={"missingFields": missing})
        name, data_type, field_type = body["name"], body["type"], body["fieldType"]
        if not PROPERTY_NAME.match(name):
            raise _invalid(f"Property name '{name}' must be lower case letters, digits and _, starting with a letter")
        if field_type not in DATA_TYPES.get(data_type, ()):
            raise _invalid(f"Property type '{data_type}' cannot have fieldType '{field_type}'")
        if body["groupName"] not in self.groups:
            raise _invalid(f"Property group '{body['groupName']}' does not exist")
        if name in self.properties:
            raise _Answer(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
        self.properties[name] = self._property(
            name, body["label"], data_type, field_type, body["groupName"], body.get("description", "")
        )
        return 201, self.properties[name], {}

    # -- contacts -----------------------------------------------------------------------------------

    def _create_contact(self, email: str, properties: dict[str, str]) -> str:
        contact_id = str(self._next_id)
        self._next_id += 1
        self.contacts[contact_id] = {**properties, "email": email.strip().lower(), "hs_object_id": contact_id}
        self._created_at[contact_id] = _now()
        return contact_id

    def _id_by_email(self, email: str) -> str | None:
        wanted = email.strip().lower()
        return next((cid for cid, props in self.contacts.items() if props.get("email") == wanted), None)

    def _batch_inputs(self, payload, *, upsert: bool) -> list[dict]:
        inputs = _object(payload).get("inputs")
        if not isinstance(inputs, list):
            raise _invalid("Invalid input JSON: 'inputs' must be a list")
        if len(inputs) > BATCH_LIMIT:
            raise _invalid(
                f"Batch input size limit is {BATCH_LIMIT}, received {len(inputs)}",
                context={"limit": [str(BATCH_LIMIT)]},
            )
        seen: set[str] = set()
        for item in inputs:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise _invalid("Every input needs an 'id' string")
            if not isinstance(item.get("properties"), dict):
                raise _invalid(f"Input {item['id']} needs a 'properties' object")
            id_property = item.get("idProperty")
            if upsert and id_property != "email":
                raise _invalid(f"idProperty '{id_property}' is not a unique property of contacts; use 'email'")
            if not upsert and id_property not in (None, "hs_object_id"):
                raise _invalid(f"idProperty '{id_property}' is not supported for batch update here; send record ids")
            key = item["id"].strip().lower()
            if key in seen:
                raise _invalid(f"Duplicate IDs found in batch input: [{item['id']}]. IDs must be unique")
            seen.add(key)
            if upsert and not EMAIL.match(item["id"]):
                raise _invalid(
                    f"Property values were not valid: {item['id']} is not a valid email address",
                    context={"email": [item["id"]]},
                )
            self._check_values(item["properties"])
        return inputs

    def _check_values(self, values: dict) -> None:
        for name, value in values.items():
            known = self.properties.get(name)
            if known is None:
                message = f'Property "{name}" does not exist'
                detail = {"isValid": False, "message": message, "error": "PROPERTY_DOESNT_EXIST", "name": name}
                raise _invalid(f"Property values were not valid: {json.dumps([detail])}")
            if name in READ_ONLY:
                raise _invalid(f'Property values were not valid: "{name}" is a read only property')
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise _invalid(f'Property values were not valid: "{name}" must be a string or a number')
            text = str(value)
            if text == "":
                continue  # an empty string clears the property
            if known["type"] == "number" and not _is_number(text):
                raise _invalid(f'Property values were not valid: {text} was not a valid number for "{name}"')
            if known["type"] in ("date", "datetime") and not _is_date(text, midnight=known["type"] == "date"):
                raise _invalid(f'Property values were not valid: {text} was not a valid date for "{name}"')

    def _record(self, contact_id: str, extra: dict | None = None) -> dict:
        properties = {**self.contacts[contact_id], "lastmodifieddate": _now()}
        created = self._created_at[contact_id]
        record = {"id": contact_id, "properties": properties, "createdAt": created, "updatedAt": _now()}
        return record | {"archived": False} | (extra or {})

    def _batch_update(self, payload, args):
        started, inputs = _now(), self._batch_inputs(payload, upsert=False)
        results, unknown = [], []
        for item in inputs:
            contact_id = item["id"]
            if contact_id not in self.contacts:
                unknown.append(contact_id)
                continue
            self.contacts[contact_id].update({k: str(v) for k, v in item["properties"].items()})
            self._written.append(contact_id)
            results.append(self._record(contact_id))
        answer = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}
        if not unknown:
            return 200, answer, {}
        error = {"status": "error", "category": "OBJECT_NOT_FOUND", "message": NOT_FOUND, "context": {"ids": unknown}}
        error |= {"links": {}, "errors": []}
        return 207, answer | {"numErrors": 1, "errors": [error]}, {}

    def _batch_upsert(self, payload, args):
        started, inputs = _now(), self._batch_inputs(payload, upsert=True)
        results = []
        for item in inputs:
            values = {k: str(v) for k, v in item["properties"].items() if k != "email"}
            contact_id = self._id_by_email(item["id"])
            new = contact_id is None
            if new:
                contact_id = self._create_contact(item["id"], values)
            else:
                self.contacts[contact_id].update(values)
            self._written.append(contact_id)
            results.append(self._record(contact_id, {"new": new}))
        return 200, {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}, {}

    # -- lists --------------------------------------------------------------------------------------

    def _list_by_name(self, name: str) -> dict | None:
        # HubSpot documents the lookup by name as not case sensitive
        return next((found for found in self.lists.values() if found["name"].lower() == name.lower()), None)

    @staticmethod
    def _public(found: dict) -> dict:
        return {key: value for key, value in found.items() if key != "members"} | {"size": len(found["members"])}

    def _create_list(self, payload, args):
        body = _object(payload)
        missing = [key for key in ("name", "objectTypeId", "processingType") if not body.get(key)]
        if missing:
            raise _invalid(f"List is missing required fields: {missing}", context={"missingFields": missing})
        if body["objectTypeId"] != "0-1":
            raise _invalid(f"This CRM holds contacts only (0-1), not {body['objectTypeId']}")
        if body["processingType"] not in ("MANUAL", "SNAPSHOT", "DYNAMIC"):
            raise _invalid(f"Unknown processingType {body['processingType']}")
        if body["processingType"] != "MANUAL" and "filterBranch" not in body:
            raise _invalid(f"A {body['processingType']} list needs a filterBranch")
        if self._list_by_name(body["name"]) is not None:
            raise _Answer(409, "OBJECT_ALREADY_EXISTS", f"A list named '{body['name']}' already exists.")
        list_id = str(len(self.lists) + 1)
        stamps = {"createdAt": _now(), "updatedAt": _now(), "listVersion": 1, "processingStatus": "COMPLETE"}
        named = {"listId": list_id, "name": body["name"], "processingType": body["processingType"]}
        self.lists[list_id] = stamps | named | {"objectTypeId": "0-1", "members": {}}
        return 200, {"list": self._public(self.lists[list_id])}, {}

    def _get_list_by_name(self, payload, args, object_type_id, name):
        found = self._list_by_name(name) if object_type_id == "0-1" else None
        if found is None:
            raise _Answer(
                404, "OBJECT_NOT_FOUND", f"List does not exist with name {name} and object type {object_type_id}"
            )
        return 200, {"list": self._public(found)}, {}

    def _existing_list(self, list_id: str) -> dict:
        if list_id not in self.lists:
            raise _Answer(404, "OBJECT_NOT_FOUND", f"List {list_id} does not exist")
        return self.lists[list_id]

    def _add_and_remove(self, payload, args, list_id):
        found = self._existing_list(list_id)
        body = _object(payload)
        to_add, to_remove = body.get("recordIdsToAdd"), body.get("recordIdsToRemove")
        if not all(isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in (to_add, to_remove)):
            raise _invalid("recordIdsToAdd and recordIdsToRemove must both be lists of record id strings")
        if found["processingType"] not in ("MANUAL", "SNAPSHOT"):
            raise _invalid(f"List {list_id} is {found['processingType']}: only MANUAL and SNAPSHOT lists take records")
        members, missing, added, removed = found["members"], [], [], []
        for record_id in to_add:
            if record_id not in self.contacts:
                missing.append(record_id)
            elif record_id not in members:
                members[record_id] = _now()
                added.append(record_id)
        for record_id in to_remove:
            if record_id not in self.contacts:
                missing.append(record_id)
            elif members.pop(record_id, None) is not None:
                removed.append(record_id)
        found["listVersion"] += 1
        # "recordsIdsAdded" is HubSpot's own spelling, which the official client reads
        return 200, {"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing}, {}

    def _get_memberships(self, payload, args, list_id):
        members = sorted(self._existing_list(list_id)["members"].items(), key=lambda item: int(item[0]))
        limit = min(int(args.get("limit", 100)), 250)
        start = int(args.get("after", 0))
        page = members[start : start + limit]
        answer = {"results": [{"recordId": rid, "membershipTimestamp": at} for rid, at in page], "total": len(members)}
        if start + limit < len(members):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return 200, answer, {}


@pytest.fixture
def hubspot_crm() -> Iterator[HubSpotContract]:
    with HubSpotContract() as crm:
        yield crm
