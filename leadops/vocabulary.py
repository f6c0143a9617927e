"""The value types scoring.yml is written in: names, text, and the event types a rule may name.

Event types are the input contract's own (leadops.contract.EVENT_TYPES) plus those the configured
source mapping declares (calls, meetings, product usage such as `feature_used`): a rule naming a type
that no configured source produces is refused by name, since it could never fire.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints, ValidationInfo

from leadops.contract import EVENT_TYPES

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True, to_lower=True)]
# The validation context key under which load_config passes the source mapping's event types.
DECLARED_EVENT_TYPES = "event_types"


def _known_event_type(value: str, info: ValidationInfo) -> str:
    # A misspelt type would match no event, and its rule, escape or trigger would never fire.
    declared = tuple((info.context or {}).get(DECLARED_EVENT_TYPES, ()))
    if value not in EVENT_TYPES and value not in declared:
        where = "the input contract or the source mapping" if declared else "the input contract"
        raise ValueError(f"'{value}' is not an event type of {where}: {', '.join([*EVENT_TYPES, *declared])}")
    return value


def _distinct(values: list[str]) -> list[str]:
    # A value listed twice ("Gmail.com" and "gmail.com" alike) would match each row twice in the joins.
    return list(dict.fromkeys(values))


EventType = Annotated[Text, AfterValidator(_known_event_type)]
TextList = Annotated[list[Text], AfterValidator(_distinct)]
EventTypeList = Annotated[list[EventType], AfterValidator(_distinct)]
