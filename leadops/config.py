"""The scoring configuration: one YAML file that RevOps owns, validated before anything runs.

The file is turned into small `config.*` tables that the dbt models join against. Rules are
rows, never SQL: nothing a user writes here is pasted into a query, so the file cannot inject SQL.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from leadops.attributes import NUMERIC_ATTRIBUTES, Attribute, Range, custom_field
from leadops.sql import transaction
from leadops.strict_yaml import DuplicateKeyError, safe_load_unique
from leadops.vocabulary import DECLARED_EVENT_TYPES, EventType, EventTypeList, Name, Text, TextList

SIGNALS = (
    "personal_email",
    "competitor",
    "unsubscribed",
    "email_bounced",
    "junk",
    "job_applicant",
    "newsletters_ignored",
    "dormant",
)
KEYWORD_DIMENSIONS = ("seniority", "department")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file, the entry and the problem."""


class _Strict(BaseModel):
    # A NaN or an infinity passes as a float and fails only when dbt casts the points to DECIMAL.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FitRule(_Strict):
    name: Name
    attribute: Attribute
    equals_any: list[Text] | None = None
    contains_any: list[Text] | None = None
    between: Range | None = None
    points: float
    description: str = ""

    @model_validator(mode="after")
    def _one_condition(self) -> FitRule:
        given = [k for k in ("equals_any", "contains_any", "between") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals_any, contains_any or between")
        numeric = self.attribute in NUMERIC_ATTRIBUTES
        # A custom field is text: equals_any and contains_any read it as such, between as a number.
        if not custom_field(self.attribute) and numeric != (self.between is not None):
            kind = "numeric" if numeric else "text"
            raise ValueError(
                f"attribute '{self.attribute}' is {kind}: use "
                + ("between: [low, high]" if numeric else "equals_any or contains_any")
            )
        if self.between and self.between[0] > self.between[1]:
            raise ValueError("between: low must not exceed high")
        return self


class EngagementRule(_Strict):
    name: Name
    event_type: EventType
    url_contains: Text | None = None
    points: float = Field(ge=0)  # what lowers a score is a negative signal
    half_life_days: float | None = Field(default=None, gt=0)
    window_days: int | None = Field(default=None, gt=0)
    max_points: float | None = Field(default=None, ge=0)
    group: Name | None = None
    description: str = ""


class Engagement(_Strict):
    total_cap: float = Field(gt=0)
    group_caps: dict[Name, float] = {}
    rules: list[EngagementRule]

    @model_validator(mode="after")
    def _groups_exist(self) -> Engagement:
        unknown = sorted({r.group for r in self.rules if r.group and r.group not in self.group_caps})
        if unknown:
            raise ValueError(f"rules name groups without a cap in group_caps: {unknown}")
        return self


class SignalRule(_Strict):
    name: Name
    signal: Literal[SIGNALS]  # type: ignore[valid-type]
    points: float = Field(default=0, le=0)  # a signal subtracts, or disqualifies
    disqualify: bool = False
    description: str = ""


class Negative(_Strict):
    newsletters_ignored_count: int = Field(default=5, gt=0)
    dormant_days: int = Field(default=120, gt=0)
    careers_page_views: int = Field(default=2, gt=0)
    # "Escape": an event of these types wipes the engagement the lead earned before it.
    escape_event_types: EventTypeList = ["unsubscribe"]
    rules: list[SignalRule]


class Hot(_Strict):
    """Urgency: what makes a lead hot within the last `window_days`."""

    window_days: int = Field(default=7, gt=0)
    prior_days: int = Field(default=28, gt=0)
    velocity_ratio: float = Field(default=2.0, gt=0)
    velocity_min_events: int = Field(default=5, gt=0)
    burst_page_views_per_hour: int = Field(default=5, gt=0)
    case_study_url: Text = "/case-studies"
    case_study_downloads: int = Field(default=2, gt=0)
    trigger_urls: TextList = ["/pricing", "/contact"]
    trigger_event_types: EventTypeList = ["demo_request", "trial_signup"]


class SegmentList(_Strict):
    """A list of leads for a campaign: any of `segments` (all if empty), any of `fit_grades`, hot ones only."""

    name: Name
    segments: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,20}$")]] = []
    fit_grades: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,20}$")]] = []
    hot_only: bool = False
    description: str = ""


class KeywordGroup(_Strict):
    value: Name
    keywords: TextList = Field(min_length=1)


class Lists(_Strict):
    personal_email_domains: TextList = []
    competitor_domains: TextList = []
    junk_keywords: TextList = []
    job_applicant_keywords: TextList = []


class Band(_Strict):
    label: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,20}$")]
    min_points: float | None = None


class Segments(_Strict):
    thresholds: list[Band] = Field(min_length=1)


class Accounts(_Strict):
    engaged_min_points: float = Field(default=10, ge=0)
    mqa_min_engaged_contacts: int = Field(default=3, gt=0)
    mqa_min_departments: int = Field(default=2, gt=0)
    lift_points: float = 10  # added to every lead of a marketing-qualified account


FieldType = Literal["numeric", "categorical"]
DEFAULT_POST_CONTACT_PATTERNS = [
    "tag",
    "quality",
    "call",
    "disposition",
    "status",
    "stage",
    "outcome",
    "rating",
    "won",
    "lost",
    "reason",
    "sales_note",
]


class PredictiveSegmentRule(_Strict):
    """A lead whose predicted conversion probability reaches `probability_at_least` is in `segment`
    (in `marts.lead_predictions.segment`) when its rule-based segment is lower; never a disqualified lead."""

    segment: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,20}$")]
    probability_at_least: float = Field(gt=0, le=1)


class Predictive(_Strict):
    """The conversion model: what it learns from, what it must not see, how it is judged."""

    outcome_stage: Literal["closed_won", "opportunity"] = "closed_won"
    min_conversions: int = Field(default=100, ge=1)  # fewer positive training rows: no model, the rules score
    # A training lead is scored as it was `scoring_day` days after it was created, or on the day of its
    # first pipeline stage if that came sooner: its features are what was known before that date.
    scoring_day: int = Field(default=30, gt=0)
    lookback_days: int = Field(default=30, gt=0)  # engagement counted in this window before the scoring date
    # A lead is a training row once this many days have passed since its scoring date (its outcome is known).
    outcome_window_days: int = Field(default=90, ge=0)
    holdout_fraction: float = Field(default=0.25, gt=0, lt=0.8)
    seed: int = 7
    models: list[Literal["logistic_regression", "gradient_boosting"]] = Field(
        default=["logistic_regression", "gradient_boosting"], min_length=1
    )
    exclude_fields: list[Name] = []  # custom fields or built-in features the model must not use
    # Custom fields whose name contains one of these are filled by sales after contact: excluded, with a warning.
    post_contact_patterns: list[Name] = DEFAULT_POST_CONTACT_PATTERNS
    allow_fields: list[Name] = []  # kept despite their name or a suspiciously high single-feature AUC
    leak_auc_threshold: float = Field(default=0.95, gt=0.5, le=1)
    field_types: dict[Name, FieldType] = {}  # override the automatic numeric/categorical typing of custom fields
    segment_rules: list[PredictiveSegmentRule] = []


def _no_unreachable_band(where: str, bands: list[Band]) -> None:
    # Of two bands with equal min_points the lower one can never be reached.
    for index in range(1, len(bands) - 1):
        above, band = bands[index - 1], bands[index]
        if band.min_points == above.min_points:
            raise ValueError(
                f"{where}[{index}] ({band.label}).min_points: {band.min_points:g} is also the min_points of "
                f"{above.label}, so {band.label} could never be reached"
            )


class ScoringConfig(_Strict):
    version: Literal[1]
    title_keywords: dict[Literal[KEYWORD_DIMENSIONS], list[KeywordGroup]]  # type: ignore[valid-type]
    lists: Lists
    fit: list[FitRule]
    engagement: Engagement
    negative: Negative
    grades: list[Band] = Field(min_length=1)
    tiers: list[Band] = Field(min_length=1)
    segments: Segments
    hot: Hot = Hot()
    segment_lists: list[SegmentList] = []
    accounts: Accounts = Accounts()
    predictive: Predictive = Predictive()

    @model_validator(mode="after")
    def _consistent(self) -> ScoringConfig:
        names = [r.name for r in self.fit] + [r.name for r in self.engagement.rules]
        names += [r.name for r in self.negative.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique across fit, engagement and negative: {duplicates}")
        for kind, bands in (
            ("grades", self.grades),
            ("tiers", self.tiers),
            ("segments", self.segments.thresholds),
        ):
            if bands[-1].min_points is not None:
                raise ValueError(f"{kind}: the last band is the catch-all and has no min_points")
            mins = [b.min_points for b in bands[:-1]]
            if any(m is None for m in mins) or mins != sorted(mins, reverse=True):
                raise ValueError(f"{kind}: every band but the last needs min_points, highest first")
            _no_unreachable_band("segments.thresholds" if kind == "segments" else kind, bands)
            labels = [b.label for b in bands]
            if len(set(labels)) != len(labels) or "disqualified" in labels:
                raise ValueError(f"{kind}: labels must be unique and 'disqualified' is reserved")
        segments = {b.label for b in self.segments.thresholds} | {"disqualified"}
        grades = {b.label for b in self.grades}
        for entry in self.segment_lists:
            if entry.name in segments:
                raise ValueError(f"segment_lists: {entry.name!r} is already a segment")
            if not set(entry.segments) <= segments or not set(entry.fit_grades) <= grades:
                raise ValueError(f"segment_lists: {entry.name!r} names a segment or grade that does not exist")
        for rule in self.predictive.segment_rules:
            if rule.segment not in segments - {"disqualified"}:
                raise ValueError(f"predictive.segment_rules: {rule.segment!r} is not a segment of segments.thresholds")
        return self

    @property
    def version_hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The configuration as the rows of the `config.*` tables the dbt models read."""
        fit_rows = []
        for rule in self.fit:
            base = {
                "rule_name": rule.name,
                "attribute": rule.attribute,
                "points": rule.points,
                "match_value": None,
                "range_low": None,
                "range_high": None,
            }
            if rule.between:
                fit_rows.append(
                    base | {"match_type": "between", "range_low": rule.between[0], "range_high": rule.between[1]}
                )
            for match_type, values in (("equals", rule.equals_any), ("contains", rule.contains_any)):
                fit_rows += [base | {"match_type": match_type, "match_value": v} for v in values or []]

        keyword_rows = [
            {"dimension": dimension, "value": group.value, "keyword": keyword, "priority": priority}
            for dimension, groups in self.title_keywords.items()
            for priority, group in enumerate(groups, start=1)
            for keyword in group.keywords
        ]
        for dimension in ("junk", "job_applicant"):
            keyword_rows += [
                {"dimension": dimension, "value": dimension, "keyword": k, "priority": 1}
                for k in getattr(self.lists, f"{dimension}_keywords")
            ]
        domain_rows = [{"list_name": "personal_email", "domain": d} for d in self.lists.personal_email_domains]
        domain_rows += [{"list_name": "competitor", "domain": d} for d in self.lists.competitor_domains]

        band_rows = [
            {"band_type": band_type, "label": b.label, "min_points": b.min_points, "band_rank": rank}
            for band_type, bands in (
                ("fit_grade", self.grades),
                ("engagement_tier", self.tiers),
                ("segment", self.segments.thresholds),
            )
            for rank, b in enumerate(bands, start=1)
        ]
        parameters = {
            "engagement_total_cap": self.engagement.total_cap,
            "newsletters_ignored_count": self.negative.newsletters_ignored_count,
            "dormant_days": self.negative.dormant_days,
            "careers_page_views": self.negative.careers_page_views,
            "account_engaged_min_points": self.accounts.engaged_min_points,
            "account_mqa_min_engaged_contacts": self.accounts.mqa_min_engaged_contacts,
            "account_mqa_min_departments": self.accounts.mqa_min_departments,
            "account_lift_points": self.accounts.lift_points,
            "hot_window_days": self.hot.window_days,
            "hot_prior_days": self.hot.prior_days,
            "hot_velocity_ratio": self.hot.velocity_ratio,
            "hot_velocity_min_events": self.hot.velocity_min_events,
            "hot_burst_page_views_per_hour": self.hot.burst_page_views_per_hour,
            "hot_case_study_downloads": self.hot.case_study_downloads,
        }
        event_lists = [{"list_name": "escape_event_type", "value": v} for v in self.negative.escape_event_types]
        event_lists += [{"list_name": "hot_url", "value": v} for v in self.hot.trigger_urls]
        event_lists += [{"list_name": "hot_event_type", "value": v} for v in self.hot.trigger_event_types]
        event_lists += [{"list_name": "case_study_url", "value": self.hot.case_study_url}]
        list_rows = [
            {"list_name": entry.name, "segment": segment, "fit_grade": grade, "is_hot_only": entry.hot_only}
            for entry in self.segment_lists
            for segment in entry.segments or [None]
            for grade in entry.fit_grades or [None]
        ]
        return {
            "fit_rules": fit_rows,
            "engagement_rules": [
                {
                    "rule_name": r.name,
                    "event_type": r.event_type,
                    "url_contains": r.url_contains,
                    "points": r.points,
                    "half_life_days": r.half_life_days,
                    "window_days": r.window_days,
                    "max_points": r.max_points,
                    "rule_group": r.group,
                }
                for r in self.engagement.rules
            ],
            "engagement_group_caps": [
                {"group_name": name, "max_points": cap} for name, cap in self.engagement.group_caps.items()
            ],
            "event_lists": event_lists,
            "segment_lists": list_rows,
            "signal_rules": [
                {"rule_name": r.name, "signal": r.signal, "points": r.points, "is_disqualifier": r.disqualify}
                for r in self.negative.rules
            ],
            "title_keywords": keyword_rows,
            "domain_lists": domain_rows,
            "bands": band_rows,
            "parameters": [{"name": k, "value": float(v)} for k, v in parameters.items()],
        }


def load_config(path: str | Path, event_types: tuple[str, ...] = ()) -> ScoringConfig:
    """The validated configuration; `event_types`: those the source mapping adds to the contract's."""
    path = Path(path)
    try:
        data = safe_load_unique(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: the scoring configuration does not exist") from None
    except DuplicateKeyError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    try:
        return ScoringConfig.model_validate(data, context={DECLARED_EVENT_TYPES: event_types})
    except ValidationError as error:
        problems = "\n".join(f"  - {_where(data, e['loc'])}: {_message(e)}" for e in error.errors())
        raise ConfigError(f"{path}: the scoring configuration is invalid:\n{problems}") from None


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden" and error["loc"][0] == "fit":
        return "not a key of a fit rule, whose condition is one of equals_any, contains_any or between"
    return "must be a finite number" if error["type"] == "finite_number" else error["msg"]


def _where(data: Any, location: tuple) -> str:
    """`fit[2] (ideal_industry).points` rather than pydantic's bare index path."""
    parts, node = [], data
    for key in location:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            label = f" ({node['name']})" if isinstance(node, dict) and "name" in node else ""
            parts[-1] = f"{parts[-1]}[{key}]{label}" if parts else f"[{key}]"
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(str(key))
    return ".".join(parts) or "(top level)"


CONFIG_TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "fit_rules": {
        "rule_name": "varchar",
        "attribute": "varchar",
        "match_type": "varchar",
        "match_value": "varchar",
        "range_low": "double",
        "range_high": "double",
        "points": "double",
    },
    "engagement_rules": {
        "rule_name": "varchar",
        "event_type": "varchar",
        "url_contains": "varchar",
        "points": "double",
        "half_life_days": "double",
        "window_days": "integer",
        "max_points": "double",
        "rule_group": "varchar",
    },
    "engagement_group_caps": {"group_name": "varchar", "max_points": "double"},
    "event_lists": {"list_name": "varchar", "value": "varchar"},
    "segment_lists": {"list_name": "varchar", "segment": "varchar", "fit_grade": "varchar", "is_hot_only": "boolean"},
    "signal_rules": {
        "rule_name": "varchar",
        "signal": "varchar",
        "points": "double",
        "is_disqualifier": "boolean",
    },
    "title_keywords": {
        "dimension": "varchar",
        "value": "varchar",
        "keyword": "varchar",
        "priority": "integer",
    },
    "domain_lists": {"list_name": "varchar", "domain": "varchar"},
    "bands": {"band_type": "varchar", "label": "varchar", "min_points": "double", "band_rank": "integer"},
    "parameters": {"name": "varchar", "value": "double"},
}


def write_config_tables(con, config: ScoringConfig) -> dict[str, int]:
    """Replace the `config.*` tables in one transaction; values are bound parameters, never SQL."""
    rows_by_table = config.tables()
    with transaction(con):
        con.execute("create schema if not exists config")
        for table, columns in CONFIG_TABLE_COLUMNS.items():
            definition = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
            con.execute(f"create or replace table config.{table} ({definition})")
            rows = [tuple(row[name] for name in columns) for row in rows_by_table[table]]
            if rows:
                placeholders = ", ".join("?" for _ in columns)
                con.executemany(f"insert into config.{table} values ({placeholders})", rows)
        # Which configuration the scores were computed with, for the CRM sync to write beside them.
        con.execute("create schema if not exists ops")
        con.execute("create or replace table ops.scoring_config as select ? as config_version", [config.version_hash])
    return {table: len(rows) for table, rows in rows_by_table.items()}
