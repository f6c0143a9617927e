"""What a fit rule can read: the built-in attributes of a lead and its account, and the CRM's own
fields (the columns of a leads file beyond the input contract, kept as `raw.lead_attributes`).

A custom field goes by its header as the loader normalises it (`leadops.headers`): `Lead Origin` is
`custom.lead_origin`. Its values are text; a `between` rule reads those that are numbers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from leadops.contract import LEADS
from leadops.headers import normalised_name

TEXT_ATTRIBUTES = (
    "industry",
    "country",
    "seniority",
    "department",
    "job_title",
    "lead_source",
    "email_domain",
)
NUMERIC_ATTRIBUTES = ("employees", "annual_revenue")
CUSTOM_PREFIX = "custom."
CUSTOM_FIELD_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
MAX_FIELD_NAME = 200


def custom_field(attribute: str) -> str | None:
    """The custom field an attribute names (`lead_origin` of `custom.lead_origin`), None for a built-in."""
    return attribute[len(CUSTOM_PREFIX) :] if attribute.startswith(CUSTOM_PREFIX) else None


def known_attribute(value: str) -> str:
    """`value` when a fit rule can read it; otherwise a ValueError that says what to write instead.

    A custom field that no loaded file has is not refused: its data may come later (the finding
    `rules_rank_the_leads` names it when the scores are flat)."""
    if value in TEXT_ATTRIBUTES + NUMERIC_ATTRIBUTES:
        return value
    if not value.lower().startswith(CUSTOM_PREFIX):
        raise ValueError(
            f"'{value}' is not an attribute: use one of {', '.join(TEXT_ATTRIBUTES + NUMERIC_ATTRIBUTES)}, "
            f"or {CUSTOM_PREFIX}<field> for a custom field of the leads files"
        )
    field = value[len(CUSTOM_PREFIX) :]
    if not value.startswith(CUSTOM_PREFIX) or not CUSTOM_FIELD_NAME.fullmatch(field) or len(field) > MAX_FIELD_NAME:
        suggestion = normalised_name(field)[:MAX_FIELD_NAME]
        hint = f", here {CUSTOM_PREFIX}{suggestion}" if suggestion else ""
        raise ValueError(
            f"'{value}' is not a custom field name: a custom field goes by its header normalised "
            f"(lower case, each run of spaces and punctuation as _){hint}"
        )
    if field in LEADS.column_names:
        # The loader reads such a header as the contract column, so no custom field ever has the name.
        instead = f": use attribute: {field}" if field in TEXT_ATTRIBUTES else ""
        raise ValueError(f"'{value}' is the input contract's column {field}, never a custom field{instead}")
    return value


def _two_bounds(value: Any) -> Any:
    # `between: [300]` would otherwise be pydantic's bare "Field required" at between.1.
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError("give the range as [low, high], two numbers")
    return value


Attribute = Annotated[str, AfterValidator(known_attribute)]
Range = Annotated[tuple[float, float], BeforeValidator(_two_bounds)]  # a `between` rule's [low, high]
