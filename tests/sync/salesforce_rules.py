"""The rules of the local Salesforce org (salesforce_contract): its objects' standard and read-only
fields, the values each field type takes, and Salesforce's SaveResults and REST API error answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.wrappers import Response

RECORD_LIMIT = 200  # sObject Collections
PREFIXES = {"Lead": "00Q", "Contact": "003", "Campaign": "701", "CampaignMember": "00v"}
CRM_TYPES = {"number": "double", "string": "string", "date": "date"}
STANDARD_FIELDS: dict[str, dict[str, str]] = {
    "Lead": {"Email": "email", "FirstName": "string", "LastName": "string", "Company": "string", "Status": "picklist",
             "Rating": "picklist"},
    "Contact": {"Email": "email", "FirstName": "string", "LastName": "string", "AccountId": "reference"},
}  # fmt: skip
READ_ONLY = {"Lead": {"Id": "id", "IsConverted": "boolean"}, "Contact": {"Id": "id"}}
QUERYABLE = {
    "Campaign": {"Id", "Name", "IsActive"},
    "CampaignMember": {"Id", "CampaignId", "LeadId", "ContactId"},
}


def error(code: str, message: str, fields: Iterable[str] = ()) -> dict[str, Any]:
    """One entry of a SaveResult's errors."""
    return {"statusCode": code, "message": message, "fields": list(fields)}


def api_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A REST API error: a JSON list of {message, errorCode}, as Salesforce answers."""
    body = json.dumps([{"message": message, "errorCode": code}])
    return Response(body, status=status, content_type="application/json;charset=UTF-8", headers=dict(headers or {}))


def fail(code: str, message: str, fields: Iterable[str] = (), record_id: str | None = None) -> dict[str, Any]:
    """A refused record's SaveResult."""
    result = {"success": False, "errors": [error(code, message, fields)]}
    return {"id": record_id, **result} if record_id else result


TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")


def _coerce(kind: str, value: Any) -> tuple[Any, str | None]:
    """A value as the field's type stores it, or why it is not one."""
    if value is None:
        return None, None
    if kind in ("double", "int", "currency", "percent"):
        if isinstance(value, bool):
            return None, f"value not of required type: {value}"
        if isinstance(value, (int, float)):
            return value, None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None, f"value not of required type: {value}"
        return (int(number) if number.is_integer() and "." not in str(value) else number), None
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat(), None
        except ValueError:
            return None, f"value not of required type: {value}"
    if kind in ("string", "email", "picklist", "textarea") and isinstance(value, str):
        if len(value) > 255:
            return None, f"data value too large: {value[:20]}... (max length=255)"
        return value, None
    return value, None
