"""What the CRM sync writes: which leadops values go to which CRM fields, and the lists that follow
segments. Read from a validated YAML file (defaults.yml beside this module unless the deployment
names its own); a mistake fails before any CRM is called, naming the entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from leadops.strict_yaml import DuplicateKeyError, safe_load_unique
from leadops.sync.destination import CrmField, FieldType

DEFAULTS = Path(__file__).with_name("defaults.yml")
HUBSPOT_NAME = r"^[a-z][a-z0-9_]{0,99}$"  # HubSpot internal property names
SALESFORCE_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"  # API names; custom ones end in __c


@dataclass(frozen=True)
class LeadopsValue:
    """A value leadops offers a CRM: its type there, what it holds, and its SQL over the sync's
    joined relations (scores, reasons, predictions, scoring_config; see leadops.sync.changes)."""

    type: FieldType
    description: str
    sql: str


VALUES: dict[str, LeadopsValue] = {
    "score": LeadopsValue("number", "score on 0..100", "cast(scores.score as varchar)"),
    "fit_grade": LeadopsValue("string", "fit grade (A best)", "scores.fit_grade"),
    "engagement_tier": LeadopsValue("string", "engagement tier (1 most engaged)", "scores.engagement_tier"),
    "label": LeadopsValue("string", "fit grade and engagement tier, e.g. A1", "scores.score_label"),
    "segment": LeadopsValue("string", "segment: sql, mql, warm, cold or disqualified", "scores.segment"),
    "hot_trigger": LeadopsValue("string", "the signal that made the lead hot; empty when not", "scores.hot_trigger"),
    "top_reasons": LeadopsValue(
        "string", "the three factors that added most points, e.g. 'demo_request +40.00'", "reasons.top_reasons"
    ),
    "conversion_probability": LeadopsValue(
        "number",
        "the model's probability of conversion, 0..1; empty until a model is trained",
        "cast(cast(predictions.conversion_probability as decimal(10, 4)) as varchar)",
    ),
    "config_version": LeadopsValue(
        "string", "version of scoring.yml the score was computed with", "scoring_config.config_version"
    ),
    "model_version": LeadopsValue("string", "version of the model that predicted", "predictions.model_version"),
    "as_of_date": LeadopsValue(
        "date",
        "the date these values were computed as of (kept until one of them changes)",
        "strftime(scores.as_of_date, '%Y-%m-%d')",
    ),
}
# Written with the others, never a reason to send: a night that changes nothing else would
# otherwise rewrite every record for its new date.
NOT_A_CHANGE = frozenset({"as_of_date"})

ValueName = Literal[tuple(VALUES)]  # type: ignore[valid-type]
ListKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSpotSync(_Strict):
    property_group: Annotated[str, StringConstraints(pattern=HUBSPOT_NAME)] = "leadops"
    requests_per_10_seconds: int = Field(default=100, ge=1, le=1000)
    fields: dict[ValueName, Annotated[str, StringConstraints(pattern=HUBSPOT_NAME)] | None]
    lists: dict[ListKey, Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(default_factory=dict)


class SalesforceSync(_Strict):
    fields: dict[ValueName, Annotated[str, StringConstraints(pattern=SALESFORCE_NAME)] | None]
    rating: dict[ListKey, Literal["Hot", "Warm", "Cold"]] = Field(default_factory=dict)
    campaigns: dict[ListKey, Annotated[str, StringConstraints(min_length=1, max_length=80)]] = Field(
        default_factory=dict
    )
    bulk_above: int = Field(default=10_000, ge=1)


class SyncConfig(_Strict):
    version: Literal[1]
    hubspot: HubSpotSync
    salesforce: SalesforceSync

    def fields(self, destination: str) -> list[tuple[str, CrmField]]:
        """(leadops value, the CRM field it goes to) for every value this destination writes."""
        mapped = getattr(self, destination).fields
        return [
            (value, CrmField(name, f"leadops {value.replace('_', ' ')}", VALUES[value].type, VALUES[value].description))
            for value, name in mapped.items()
            if name
        ]

    def lists(self, destination: str) -> dict[str, str]:
        """segment or list -> the CRM list (HubSpot) or campaign (Salesforce) that follows it."""
        return self.hubspot.lists if destination == "hubspot" else self.salesforce.campaigns


class SyncConfigError(ValueError):
    """The sync configuration cannot be used; names the file and the entry."""


def load_sync_config(path: str | Path | None = None) -> SyncConfig:
    path = Path(path) if path else DEFAULTS
    try:
        data = safe_load_unique(path.read_text())
    except FileNotFoundError:
        raise SyncConfigError(f"{path}: no such sync configuration file") from None
    except DuplicateKeyError as error:
        raise SyncConfigError(f"{path}: {error}") from None
    try:
        config = SyncConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SyncConfigError(f"{path}: {where}: {first['msg']} (got {first.get('input')!r})") from None
    for destination in ("hubspot", "salesforce"):
        names = [field.name for _, field in config.fields(destination)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise SyncConfigError(f"{path}: {destination}.fields: {', '.join(repeated)} named for two values")
    return config
