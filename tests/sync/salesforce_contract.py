"""A local Salesforce org that enforces the documented REST contract the sync relies on, so the
official client (simple-salesforce) can be tested against it.

What it implements, each as Salesforce documents it: the OAuth 2.0 client credentials token
endpoint; Bearer sessions (401 INVALID_SESSION_ID otherwise); sObject describe; SOQL queries of the
shapes the destination sends (anything else is MALFORMED_QUERY); sObject Collections
(`composite/sobjects`: PATCH update, POST create, DELETE, at most 200 records, per-record
SaveResults); Campaign and CampaignMember; Bulk API 2.0 ingest jobs (salesforce_bulk); the org's
daily API request limit (403 REQUEST_LIMIT_EXCEEDED); and injected faults.

simple-salesforce builds every URL as https://, so the org serves TLS with a throwaway self-signed
certificate; the fixture points REQUESTS_CA_BUNDLE at it for the test's duration.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import pytest
from salesforce_bulk import BulkJobs
from salesforce_rules import (
    CRM_TYPES,
    PREFIXES,
    QUERYABLE,
    READ_ONLY,
    RECORD_LIMIT,
    STANDARD_FIELDS,
    TOO_MANY,
    _coerce,
    api_error,
    error,
    fail,
    json_response,
)
from salesforce_soql import SoqlError, parse_soql
from salesforce_tls import _certificate
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from leadops.sync.destination import CrmField


@dataclass
class Fault:
    status: int
    retry_after: float | None
    path: str | None


class SalesforceOrg:
    """The org's state and its HTTP contract. `records`: Lead and Contact records by id."""

    def __init__(self, *, api_version: str = "62.0", daily_limit: int | None = None, custom_fields=None):
        self.api_version = api_version
        self.client_id = "3MVG9leadops.test.client"
        self.client_secret = secrets.token_hex(16)
        self.token = "00D" + secrets.token_hex(20)  # a session valid from the start
        self.url = ""  # set when the server starts
        self.daily_limit, self.api_used = daily_limit, 0
        self.records: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, str] = {}  # id -> type, of deleted Lead/Contact records
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, Any]] = {}  # CampaignMember id -> {CampaignId, LeadId|ContactId}
        self.fields: dict[str, dict[str, str]] = {o: {**READ_ONLY[o], **f} for o, f in STANDARD_FIELDS.items()}
        self.record_failures: dict[str, tuple[str, str]] = {}  # id -> (statusCode, message) on every write
        self.requests: list[tuple[str, str, int, int]] = []  # (method, path, records, status)
        self._written: list[str] = []
        self._tokens = {self.token}
        self._faults: deque[Fault] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.bulk = BulkJobs(self)
        for object_type, names in (custom_fields or {}).items():
            self.add_custom_fields(object_type, names)

    # -- setting the org up -------------------------------------------------------------------

    def add_custom_fields(self, object_type: str, fields: Iterable[str | CrmField] | Mapping[str, str]) -> None:
        """Fields an administrator created: names (text), CrmFields, or name -> Salesforce type."""
        if isinstance(fields, Mapping):
            self.fields[object_type].update(fields)
            return
        for f in fields:
            if isinstance(f, CrmField):
                self.fields[object_type][f.name] = CRM_TYPES[f.type]
            else:
                self.fields[object_type][f] = "string"

    def new_id(self, object_type: str) -> str:
        # 15 significant characters and a 3-character case checksum ("AAA" for digits), as Salesforce's
        return f"{PREFIXES[object_type]}5g{next(self._ids):010d}AAA"

    def add_record(self, object_type: str, email: str | None, **fields: Any) -> str:
        record_id = self.new_id(object_type)
        self.records[record_id] = {"type": object_type, "Email": email, **fields}
        return record_id

    def delete_record(self, record_id: str) -> None:
        self.deleted[record_id] = self.records.pop(record_id)["type"]

    def convert_lead(self, lead_id: str) -> str:
        """Convert a Lead: a Contact with its email and (as the Lead field mapping does) its custom
        field values; the Lead stays, read-only, with IsConverted true."""
        lead = self.records[lead_id]
        lead["IsConverted"] = True
        carried = {k: v for k, v in lead.items() if k.endswith("__c")}
        return self.add_record("Contact", lead.get("Email"), **carried)

    def fail_record(self, record_id: str, code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: str = "") -> None:
        """A validation rule refusing every write of this record until `record_failures` is cleared."""
        self.record_failures[record_id] = (code, message or "Score cannot be set on a disqualified lead")

    def fail_next(self, status: int = 503, times: int = 1, retry_after: float | None = None, path: str | None = None):
        """The next `times` API requests (whose path contains `path`, when given) answer `status`."""
        self._faults.extend(Fault(status, retry_after, path) for _ in range(times))

    def new_day(self) -> None:
        self.api_used = 0

    def expire_sessions(self) -> None:
        """Every session ends (as after the connected app's session timeout): 401 until a new token."""
        self._tokens.clear()

    # -- reading the state --------------------------------------------------------------------

    def written_ids(self) -> list[str]:
        """Every Lead/Contact id updated, in order, repeats kept."""
        return list(self._written)

    def campaign_id(self, name: str) -> str | None:
        return next((cid for cid, c in self.campaigns.items() if c["Name"] == name), None)

    def campaign_members(self, name: str) -> set[str]:
        campaign_id = self.campaign_id(name)
        return {m.get("LeadId") or m.get("ContactId") for m in self.members.values() if m["CampaignId"] == campaign_id}

    def calls(self, fragment: str, method: str | None = None) -> list[tuple[str, str, int, int]]:
        """The logged requests whose path contains `fragment`."""
        return [r for r in self.requests if fragment in r[1] and (method is None or r[0] == method)]

    # -- writing, shared with Bulk API jobs ---------------------------------------------------

    def check_update(self, object_type: str | None, record_id: str | None, values: Mapping[str, Any]):
        """(normalised values, None) or (None, error) for an update of one record."""
        if not object_type or object_type not in self.fields:
            return None, error("INVALID_TYPE", f"sObject type '{object_type}' is not supported.")
        if not record_id:
            return None, error("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        if record_id in self.deleted:
            return None, error("ENTITY_IS_DELETED", "entity is deleted")
        record = self.records.get(record_id)
        if record is None:
            return None, error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if record["type"] != object_type:
            return None, error("MALFORMED_ID", f"{object_type} ID: id value of incorrect type: {record_id}", ["Id"])
        if record.get("IsConverted"):
            return None, error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        clean: dict[str, Any] = {}
        for name, value in values.items():
            kind = self.fields[object_type].get(name)
            if kind is None:
                return None, error("INVALID_FIELD", f"No such column '{name}' on sobject of type {object_type}", [name])
            if name in READ_ONLY[object_type]:
                return None, error("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {name}", [name])
            clean[name], problem = _coerce(kind, value)
            if problem:
                return None, error("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: {problem}", [name])
        if record_id in self.record_failures:
            code, message = self.record_failures[record_id]
            return None, error(code, message)
        return clean, None

    def apply_update(self, record_id: str, values: Mapping[str, Any]) -> None:
        self.records[record_id].update(values)
        self._written.append(record_id)

    # -- HTTP ---------------------------------------------------------------------------------

    @Request.application
    def app(self, request: Request) -> Response:
        with self._lock:
            count = 0
            try:
                response, count = self._route(request)
            except Exception as failure:  # a bug of the fake org shows in the test, as a 500
                response = api_error(500, "UNKNOWN_EXCEPTION", f"{type(failure).__name__}: {failure}")
            self.requests.append((request.method, request.path, count, response.status_code))
            return response

    def _route(self, request: Request) -> tuple[Response, int]:
        if request.path == "/services/oauth2/token":
            return self._token(request), 0
        prefix = f"/services/data/v{self.api_version}/"
        if not request.path.startswith("/services/data/"):
            return api_error(404, "NOT_FOUND", "The requested resource does not exist"), 0
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header.removeprefix("Bearer ") not in self._tokens:
            return api_error(401, "INVALID_SESSION_ID", "Session expired or invalid"), 0
        if not request.path.startswith(prefix):
            return api_error(404, "NOT_FOUND", "The requested resource does not exist"), 0
        fault = next((f for f in self._faults if f.path is None or f.path in request.path), None)
        if fault is not None:
            self._faults.remove(fault)
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            code = {503: "SERVER_UNAVAILABLE", 429: "REQUEST_LIMIT_EXCEEDED"}.get(fault.status, "UNKNOWN_EXCEPTION")
            return api_error(fault.status, code, "Injected failure", headers), 0
        if self.daily_limit is not None and self.api_used >= self.daily_limit:
            return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), 0
        self.api_used += 1
        response, count = self._resource(request, request.path.removeprefix(prefix).strip("/"))
        if self.daily_limit is not None:
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.daily_limit}"
        return response, count

    def _resource(self, request: Request, path: str) -> tuple[Response, int]:
        parts = path.split("/")
        if parts[0] == "jobs" and len(parts) > 1 and parts[1] == "ingest":
            return self.bulk.handle(request, parts[2:])
        if path == "query" and request.method == "GET":
            return self._query(request.args.get("q", "")), 0
        if path == "composite/sobjects":
            return self._collections(request)
        if parts[0] == "sobjects" and len(parts) == 3 and parts[2] == "describe" and request.method == "GET":
            return self._describe(parts[1]), 0
        if parts[0] == "sobjects" and len(parts) == 2 and request.method == "POST":
            body = request.get_json(silent=True) or {}
            result = self._create({"attributes": {"type": parts[1]}, **body})
            if not result["success"]:
                errors = [{"message": e["message"], "errorCode": e["statusCode"]} for e in result["errors"]]
                return json_response(errors, 400), 1
            return json_response(result, 201), 1
        return api_error(404, "NOT_FOUND", "The requested resource does not exist"), 0

    def _token(self, request: Request) -> Response:
        form = parse_qs(request.get_data(as_text=True))
        given = {k: v[0] for k, v in form.items()}
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            given["client_id"], _, given["client_secret"] = base64.b64decode(basic[6:]).decode().partition(":")
        if given.get("grant_type") != "client_credentials":
            return json_response(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400
            )
        if (given.get("client_id"), given.get("client_secret")) != (self.client_id, self.client_secret):
            return json_response({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
        token = "00D" + secrets.token_hex(20)
        self._tokens.add(token)
        issued = str(int(dt.datetime.now(dt.UTC).timestamp() * 1000))
        return json_response(
            {"access_token": token, "signature": secrets.token_urlsafe(24), "scope": "api", "instance_url": self.url,
             "id": f"{self.url}/id/00D000000000001/005000000000001", "token_type": "Bearer", "issued_at": issued}
        )  # fmt: skip

    def _describe(self, object_type: str) -> Response:
        if object_type not in self.fields:
            return api_error(404, "NOT_FOUND", f"The requested resource does not exist: {object_type}")
        fields = [
            {
                "name": name,
                "type": kind,
                "label": name.removesuffix("__c").replace("_", " "),
                "custom": name.endswith("__c"),
                "updateable": name not in READ_ONLY[object_type],
                "nillable": True,
            }
            for name, kind in self.fields[object_type].items()
        ]
        return json_response({"name": object_type, "label": object_type, "custom": False, "fields": fields})

    def _query(self, soql: str) -> Response:
        try:
            query = parse_soql(soql)
        except SoqlError as failure:
            return api_error(400, "MALFORMED_QUERY", str(failure))
        table = self._table(query.object_type)
        if table is None:
            return api_error(400, "INVALID_TYPE", f"sObject type '{query.object_type}' is not supported.")
        known = QUERYABLE.get(query.object_type) or set(self.fields[query.object_type])
        unknown = [f for f in [*query.fields, *(c[0] for c in query.conditions)] if f not in known]
        if unknown:
            return api_error(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{query.object_type}'.")
        rows = [
            {"attributes": {"type": query.object_type, "url": f"/services/data/v{self.api_version}/sobjects/"
                            f"{query.object_type}/{rid}"},
             **{f: rid if f == "Id" else row.get(f, False if f == "IsConverted" else None) for f in query.fields}}
            for rid, row in table.items()
            if query.matches({"Id": rid, "IsConverted": False, **row})
        ]  # fmt: skip
        return json_response({"totalSize": len(rows), "done": True, "records": rows})

    def _table(self, object_type: str) -> dict[str, dict[str, Any]] | None:
        if object_type in ("Lead", "Contact"):
            return {rid: r for rid, r in self.records.items() if r["type"] == object_type}
        return {"Campaign": self.campaigns, "CampaignMember": self.members}.get(object_type)

    def _collections(self, request: Request) -> tuple[Response, int]:
        if request.method == "DELETE":
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            if len(ids) > RECORD_LIMIT:
                return api_error(400, "EXCEEDED_ID_LIMIT", TOO_MANY), len(ids)
            return json_response([self._delete(i) for i in ids]), len(ids)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return api_error(400, "JSON_PARSER_ERROR", "The request body must be {allOrNone, records: [...]}"), 0
        records = body["records"]
        if len(records) > RECORD_LIMIT:
            return api_error(400, "EXCEEDED_ID_LIMIT", TOO_MANY), len(records)
        if request.method == "POST":
            return json_response([self._create(r) for r in records]), len(records)
        if request.method != "PATCH":
            return api_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed."), 0
        checked = []
        for record in records:
            values = {k: v for k, v in record.items() if k not in ("attributes", "Id", "id")}
            record_id = record.get("Id") or record.get("id")
            checked.append(
                (record_id, *self.check_update((record.get("attributes") or {}).get("type"), record_id, values))
            )
        failed = any(problem for _, _, problem in checked)
        if body.get("allOrNone") and failed:
            rolled = error(
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
            )
            results = [{"id": rid, "success": False, "errors": [p or rolled]} for rid, _, p in checked]
            return json_response(results), len(records)
        results = []
        for record_id, values, problem in checked:
            if problem:
                results.append({"id": record_id, "success": False, "errors": [problem]})
            else:
                self.apply_update(record_id, values)
                results.append({"id": record_id, "success": True, "errors": []})
        return json_response(results), len(records)

    def _create(self, record: Mapping[str, Any]) -> dict[str, Any]:
        object_type = (record.get("attributes") or {}).get("type")
        values = {k: v for k, v in record.items() if k != "attributes"}
        if "Id" in values or "id" in values:
            return fail("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
        if object_type == "Campaign":
            if not values.get("Name"):
                return fail("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
            campaign_id = self.new_id("Campaign")
            self.campaigns[campaign_id] = {"Name": values["Name"], "IsActive": bool(values.get("IsActive"))}
            return {"id": campaign_id, "success": True, "errors": []}
        if object_type == "CampaignMember":
            return self._add_member(values)
        if object_type in ("Lead", "Contact"):
            record_id = self.add_record(object_type, None)
            clean, problem = self.check_update(object_type, record_id, values)
            if problem:
                self.records.pop(record_id)
                return {"success": False, "errors": [problem]}
            self.records[record_id].update(clean)
            return {"id": record_id, "success": True, "errors": []}
        return fail("INVALID_TYPE", f"sObject type '{object_type}' is not supported.")

    def _add_member(self, values: Mapping[str, Any]) -> dict[str, Any]:
        unknown = [k for k in values if k not in QUERYABLE["CampaignMember"] | {"Status"}]
        if unknown:
            return fail(
                "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type CampaignMember", unknown[:1]
            )
        if values.get("CampaignId") not in self.campaigns:
            return fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["CampaignId"])
        key = "LeadId" if values.get("LeadId") else "ContactId"
        record_id = values.get(key)
        expected = "Lead" if key == "LeadId" else "Contact"
        if record_id in self.deleted:
            return fail("ENTITY_IS_DELETED", "entity is deleted", [key])
        if not record_id or self.records.get(record_id, {}).get("type") != expected:
            return fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [key])
        for member in self.members.values():
            if member["CampaignId"] == values["CampaignId"] and member.get(key) == record_id:
                return fail("DUPLICATE_VALUE", "Already a campaign member.")
        member_id = self.new_id("CampaignMember")
        self.members[member_id] = {"CampaignId": values["CampaignId"], key: record_id}
        return {"id": member_id, "success": True, "errors": []}

    def _delete(self, record_id: str) -> dict[str, Any]:
        if record_id in self.members:
            del self.members[record_id]
        elif record_id in self.records:
            self.delete_record(record_id)
        elif record_id in self.deleted:
            return fail("ENTITY_IS_DELETED", "entity is deleted", record_id=record_id)
        else:
            return fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", record_id=record_id)
        return {"id": record_id, "success": True, "errors": []}


@pytest.fixture
def salesforce_org(tmp_path_factory, monkeypatch):
    """A running SalesforceOrg: `.url` (instance URL, https), `.token`, `.client_id`,
    `.client_secret`, `.api_version`, `.ca_bundle`, and its state (see SalesforceOrg)."""
    import ssl

    cert, key = _certificate(tmp_path_factory.mktemp("salesforce_tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    org = SalesforceOrg()
    server = make_server("127.0.0.1", 0, org.app, threaded=True, ssl_context=context)
    org.url, org.ca_bundle = f"https://127.0.0.1:{server.server_port}", str(cert)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield org
    finally:
        server.shutdown()
        thread.join(timeout=5)
