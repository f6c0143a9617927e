"""The rules of the local HubSpot CRM (hubspot_contract): its scopes, property types and default
contact properties, how property values are validated, and HubSpot's error answers.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime

BATCH_LIMIT = 100
ALL_SCOPES = frozenset(
    {
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.read",
        "crm.schemas.contacts.write",
        "crm.lists.read",
        "crm.lists.write",
    }
)
DATA_TYPES = {
    "string": {"text", "textarea", "select", "radio", "checkbox", "phonenumber", "html", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate"}
# a few of HubSpot's own contact properties, as a new account has them: name -> label, type, fieldType
DEFAULT_PROPERTIES = {
    "email": ("Email", "string", "text"),
    "firstname": ("First Name", "string", "text"),
    "lastname": ("Last Name", "string", "text"),
    "company": ("Company Name", "string", "text"),
    "hs_object_id": ("Record ID", "number", "number"),
    "createdate": ("Create Date", "datetime", "date"),
    "lastmodifieddate": ("Last Modified Date", "datetime", "date"),
}
PROPERTY_DEFAULTS = {"options": [], "displayOrder": -1, "hidden": False, "formField": False, "archived": False}
PROPERTY_DEFAULTS |= {"calculated": False, "externalOptions": False}
MISSING_SCOPES = (
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: "
    "https://developers.hubspot.com/scopes."
)
NOT_FOUND = "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
NO_CREDENTIALS = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Answer(Exception):
    """An error answer in HubSpot's shape, raised from anywhere in a handler."""

    def __init__(self, status: int, category: str, message: str, *, headers=None, **extra):
        super().__init__(message)
        self.status, self.headers = status, headers or {}
        self.body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
        self.body |= extra


def _invalid(message: str, **extra) -> _Answer:
    return _Answer(400, "VALIDATION_ERROR", message, **extra)


def _rate_limited(policy: str, retry_after: float | None = None) -> _Answer:
    limit = "daily" if policy == "DAILY" else policy.lower()
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    fields = {"errorType": "RATE_LIMIT", "policyName": policy, "groupName": "publicapi:contract-test"}
    return _Answer(429, "RATE_LIMITS", f"You have reached your {limit} limit.", headers=headers, **fields)


def _object(payload) -> dict:
    if not isinstance(payload, dict):
        raise _invalid("Invalid input JSON: expected an object")
    return payload


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _is_date(text: str, *, midnight: bool) -> bool:
    """A date property takes YYYY-MM-DD or epoch milliseconds (at midnight UTC for a date, not a datetime)."""
    if text.isdigit():
        return not midnight or int(text) % 86_400_000 == 0
    try:
        return bool(ISO_DATE.match(text)) and datetime.strptime(text, "%Y-%m-%d") is not None
    except ValueError:
        return False
