"""What the sync hands a CRM and what it expects back: the contract every destination implements.

The sync works out which leads changed (leadops.sync.changes) and hands a destination batches of
`Outgoing` records; the destination turns each batch into the CRM's own calls through the CRM's
official client and answers one `Outcome` per record. Only an accepted record is marked synced,
so whatever a destination does not accept is sent again next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

FieldType = Literal["number", "string", "date"]


@dataclass(frozen=True)
class CrmField:
    """One CRM field the sync writes: its name in the CRM, what it holds, and its type there."""

    name: str  # e.g. leadops_score (HubSpot property) or Lead_Score__c (Salesforce field)
    label: str  # shown in the CRM, e.g. "leadops score"
    type: FieldType
    description: str


@dataclass(frozen=True)
class Outgoing:
    """One lead's values for one CRM record."""

    lead_id: str  # leadops' id of the lead
    record_id: str | None  # the CRM record's id when known; None: match by email (a lead from plain files)
    email: str | None
    object_type: str  # HubSpot: contact; Salesforce: Lead, or Contact for a converted lead
    values: dict[str, str | None]  # CRM field name -> value as text (numbers in plain decimal); None clears it


@dataclass(frozen=True)
class Outcome:
    """The CRM's answer for one record: accepted (with the record's id), or refused with its message."""

    lead_id: str
    accepted: bool
    record_id: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class MembershipChange:
    """A list (HubSpot static list, Salesforce campaign) to make equal to a segment."""

    list_name: str
    add: Sequence[str]  # CRM record ids entering
    remove: Sequence[str]  # CRM record ids leaving
    object_types: dict[str, str] = field(default_factory=dict)  # record id -> object type, where it matters


@dataclass(frozen=True)
class MembershipOutcome:
    list_id: str
    added: list[str]  # record ids the CRM now lists
    removed: list[str]  # record ids the CRM no longer lists
    failed: dict[str, str]  # record id -> the CRM's message


class QuotaExhausted(Exception):
    """The CRM's daily quota is spent: the sync stops cleanly and the next run resumes."""


class DestinationError(Exception):
    """A failure of the whole destination (bad token, missing fields, unreachable): names what to fix."""


class Destination(Protocol):
    name: str  # hubspot | salesforce
    batch_size: int  # records per write call (HubSpot 100, Salesforce composite 200)
    api_calls: int  # HTTP requests made so far, retries included

    def missing_fields(self, fields: Sequence[CrmField]) -> list[str]:
        """The fields the CRM lacks; reads only (a dry run calls this and nothing that writes)."""
        ...

    def ensure_fields(self, fields: Sequence[CrmField]) -> list[str]:
        """Create the missing fields where the CRM allows it; returns those created. Raises
        DestinationError naming the fields an administrator must add where it does not."""
        ...

    def send(self, records: Sequence[Outgoing]) -> list[Outcome]:
        """Write one batch (at most `batch_size`); one Outcome per record, in any order. A refused
        record never fails the others. Raises QuotaExhausted when the daily quota is spent."""
        ...

    def change_membership(self, change: MembershipChange) -> MembershipOutcome:
        """Create the list when missing, then add and remove members."""
        ...
