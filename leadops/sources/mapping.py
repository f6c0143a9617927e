"""A source mapping: how a CRM's files become leadops' raw tables, as a validated YAML file.

A mapping is a list of *feeds*. Each feed reads one folder of the landing folder (`contacts/`) into
one table of the input contract (`leads`), and says which of the CRM's columns is which contract
column, with the CRM's timestamp formats and value labels. A column the feed does not name is read
as today: a header that normalises to a contract column is that column, and the other columns of a
leads feed are kept as custom fields. Nothing in a mapping reaches SQL but through
`leadops.sources.translate`, which quotes every name and value.

The shipped presets live in `presets/`; `--source NAME` picks one, `--source PATH` a user's file.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from leadops.contract import SOURCES
from leadops.headers import normalised_name
from leadops.strict_yaml import DuplicateKeyError, safe_load_unique

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
BUILT_IN = "leadops"  # the input contract as it is: each source from its own folder, no renames
FOLDER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CUSTOM_PREFIX = "custom."
# strptime directives DuckDB understands (a format is also tried on a sample before it is used).
FORMAT_DIRECTIVE = re.compile(r"%[-]?[aAbBcdfgGHIjmMpSuUVwWxXyYzZ%]")
EPOCH_FORMATS = ("epoch_ms", "epoch_s")
MAX_LOOKUP_STEPS = 3  # email_event -> contact by address is two; more is a model, not a mapping
CrmColumn = Annotated[str, Field(min_length=1, max_length=200)]


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the file and the entry."""


def _column_shorthand(value: Any) -> Any:
    return {"column": value} if isinstance(value, str | list) else value


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


def _folder_name(folder: str) -> str:
    if not FOLDER.match(folder):
        raise ValueError(f"'{folder}' is not a folder name (lower-case letters, digits, - and _)")
    return folder


FolderName = Annotated[str, AfterValidator(_folder_name)]


class Lookup(BaseModel):
    """One step of a lookup in another landing folder: the value so far is looked for in the `match`
    column of every file of `folder`, and that row's `take` column is the value from then on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: FolderName
    match: CrmColumn
    take: CrmColumn
    ignore_case: bool = False  # compared trimmed and lower-cased on both sides (an email address)


class Skip(BaseModel):
    """Rows to leave out, with the reason the run's output counts them by: a row whose `column` is
    one of `values`, or (with `other_than`) is empty or none of them. Compared without case or spaces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: CrmColumn
    values: list[str] | None = None
    other_than: list[str] | None = None
    reason: str = Field(min_length=1, max_length=200)
    optional: bool = False  # a file without the column skips nothing by it (history-mode columns)

    @field_validator("values", "other_than", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _values_or_other_than(self) -> Skip:
        if (self.values is None) == (self.other_than is None):
            raise ValueError("give either values (skip these) or other_than (skip all but these)")
        if not (self.values or self.other_than):
            raise ValueError("list at least one value")
        return self


class MergedIds(BaseModel):
    """Where a CRM records that one record was merged into another: the rows of `folder` pair an `id`
    (several, `split` by a separator, in a list column) with the id it was `merged_into`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: FolderName
    id: CrmColumn
    merged_into: CrmColumn
    split: str | None = Field(default=None, min_length=1, max_length=5)


class ColumnMap(BaseModel):
    """One contract column (or custom field) of a feed: from a CRM column, or a constant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The CRM column; a list names alternatives (a table's column in older and newer schemas): the
    # first the file has is read.
    column: list[CrmColumn] | None = Field(default=None, min_length=1)
    value: str | None = Field(default=None, max_length=200)
    format: list[str] | None = None  # strptime formats tried in order, or epoch_ms / epoch_s
    values: dict[str, str] | None = None  # CRM label -> contract value, matched case-insensitively
    lookup: list[Lookup] | None = Field(default=None, min_length=1, max_length=MAX_LOOKUP_STEPS)
    optional: bool = False  # a file without the column leaves this one empty (and the run says so)
    as_: Literal["domain"] | None = Field(default=None, alias="as")  # a URL or address read as its domain
    # Put before a value `values` does not map: a history's `lifecyclestage` names the field the
    # leads feed keeps as `property_lifecyclestage`.
    prefix: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,30}$")

    @field_validator("column", "lookup", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _one_or_more(value)

    @field_validator("format", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("format")
    @classmethod
    def _known_formats(cls, formats: list[str] | None) -> list[str] | None:
        for text in formats or []:
            if text in EPOCH_FORMATS:
                continue
            if not FORMAT_DIRECTIVE.search(text) or re.sub(FORMAT_DIRECTIVE, "", text).count("%"):
                raise ValueError(f"'{text}' is not a timestamp format (e.g. '%Y-%m-%d %H:%M', epoch_ms)")
        if formats is not None and not formats:
            raise ValueError("give at least one format")
        return formats

    @model_validator(mode="after")
    def _column_or_value(self) -> ColumnMap:
        if (self.column is None) == (self.value is None):
            raise ValueError("give either column (a CRM column) or value (a constant)")
        if self.value is not None and (
            self.format or self.values or self.lookup or self.optional or self.as_ or self.prefix
        ):
            raise ValueError("a constant value takes no format, values, lookup, optional, as or prefix")
        return self


MappedColumn = Annotated[ColumnMap, BeforeValidator(_column_shorthand)]


class Feed(BaseModel):
    """One landing folder read into one contract table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: str
    into: str
    description: str = ""
    columns: dict[str, MappedColumn] = Field(default_factory=dict)
    # A CRM column that must have a value for a row to belong here (a contact with a
    # "Became a Customer Date" is a conversion); the other rows are counted and reported.
    when: str | None = Field(default=None, min_length=1, max_length=200)
    skip_when: list[Skip] = Field(default_factory=list)
    # The mapping's merged_ids, which every feed applies to its lead_id: not written per feed.
    merged_ids: list[MergedIds] = Field(default_factory=list)

    @field_validator("skip_when", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _one_or_more(value)

    @field_validator("folder")
    @classmethod
    def _folder_name(cls, folder: str) -> str:
        return _folder_name(folder)

    @field_validator("into")
    @classmethod
    def _contract_table(cls, into: str) -> str:
        if into not in SOURCES:
            raise ValueError(f"'{into}' is not a table of the input contract ({', '.join(SOURCES)})")
        return into

    @model_validator(mode="after")
    def _contract_columns(self) -> Feed:
        source = SOURCES[self.into]
        for target in self.columns:
            if target.startswith(CUSTOM_PREFIX):
                name = target.removeprefix(CUSTOM_PREFIX)
                if self.into != "leads" or normalised_name(name) != name or name in source.column_names:
                    raise ValueError(
                        f"{target}: custom fields are leads' columns named in lower case with _ "
                        "and no contract column's name"
                    )
            elif target not in source.column_names:
                raise ValueError(f"{target} is not a column of {self.into} ({', '.join(source.column_names)})")
        return self

    @property
    def is_identity(self) -> bool:
        """Read as the contract reads a file: no column named, the folder named as the table."""
        return (
            not self.columns
            and self.when is None
            and not self.skip_when
            and not self.merged_ids
            and self.folder == self.into
        )

    @property
    def label(self) -> str:
        return f"{self.folder} -> {self.into}"

    @property
    def lookup_folders(self) -> tuple[str, ...]:
        """The other folders this feed reads whole: its lookups' and the merged ids'."""
        steps = [step.folder for mapped in self.columns.values() for step in mapped.lookup or []]
        return tuple(dict.fromkeys([*steps, *(merged.folder for merged in self.merged_ids)]))


class Database(BaseModel):
    """How a sync tool's tables are read when the mapping's data is in a database, not in files:
    each feed's folder is then a table of `schema`, and the rows changed since the last run (by
    `cursor`, the sync's own column) are extracted into that folder of the landing folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = Field(alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$")  # the sync's usual schema
    cursor: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")  # e.g. _fivetran_synced


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    database: Database | None = None
    # The CRM whose record ids the leads' ids are: the sync writes back to those records by id
    # (leads from any other source are matched by email).
    crm: Literal["hubspot", "salesforce"] | None = None
    # Records merged into another (HubSpot's merged contacts, a Salesforce lead converted into a
    # contact): every feed's lead_id becomes the id it was merged into, and a leads row of a merged
    # id is skipped, so that the two are one lead.
    merged_ids: list[MergedIds] = Field(default_factory=list)
    # Event types beyond the contract's (calls, meetings, Marketo activity types, product usage such
    # as feature_used for product-qualified leads): its feeds may produce them and scoring.yml may
    # weight them. An event of a type neither lists is still quarantined.
    event_types: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]] = Field(
        default_factory=list
    )
    feeds: list[Feed] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _without_extensions(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # `x-` keys hold YAML anchors that the feeds share (formats, value maps), as in compose files.
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
        feeds = data.get("feeds")
        if not isinstance(feeds, list):
            return data
        for index, feed in enumerate(feeds):
            if isinstance(feed, dict) and "merged_ids" in feed:
                raise ValueError(f"feeds[{index}]: merged_ids is the mapping's, given once at the top for every feed")
        try:  # each feed carries the mapping's merged ids; a mistake in them is reported once, at the top
            merged = TypeAdapter(list[MergedIds]).validate_python(data.get("merged_ids") or [])
        except ValidationError:
            return data
        if merged:
            data["feeds"] = [{**feed, "merged_ids": merged} if isinstance(feed, dict) else feed for feed in feeds]
        return data

    @model_validator(mode="after")
    def _one_feed_per_folder_and_table(self) -> SourceMapping:
        seen = set()
        for feed in self.feeds:
            if (feed.folder, feed.into) in seen:
                raise ValueError(f"{feed.label} is given twice: one feed per folder and table")
            seen.add((feed.folder, feed.into))
        return self

    def feeds_into(self, source: str) -> list[Feed]:
        return [feed for feed in self.feeds if feed.into == source]

    @cached_property
    def folders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(feed.folder for feed in self.feeds))

    @cached_property
    def lookup_folders(self) -> tuple[str, ...]:
        """Folders read only whole, by lookups and merged ids; a database reader extracts them too."""
        read = dict.fromkeys(folder for feed in self.feeds for folder in feed.lookup_folders)
        return tuple(folder for folder in read if folder not in self.folders)


def built_in() -> SourceMapping:
    """The contract itself: `leads/`, `accounts/`, `activity/` and `conversions/` as they are."""
    return SourceMapping(
        name=BUILT_IN,
        description="Files in leadops' own input contract, one folder per table.",
        feeds=[Feed(folder=name, into=name) for name in SOURCES],
    )


def presets() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PRESETS_DIR.glob("*.yml"))}


def load_mapping(name_or_path: str | Path) -> SourceMapping:
    """A shipped preset by name (`hubspot-export`), `leadops` for the contract as it is, or a file."""
    text = str(name_or_path)
    if text == BUILT_IN:
        return built_in()
    path = presets().get(text) or Path(text)
    if not path.is_file():
        known = ", ".join([BUILT_IN, *presets()])
        raise MappingError(f"no source mapping '{text}': name a preset ({known}) or a YAML file")
    try:
        data = safe_load_unique(path.read_text(encoding="utf-8"))
    except DuplicateKeyError as error:
        raise MappingError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise MappingError(f"{path}: not valid YAML: {error}") from None
    try:
        return SourceMapping.model_validate(data)
    except ValidationError as error:
        problems = "\n".join(
            f"  - {_where(data, e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        )
        raise MappingError(f"{path}: the source mapping is invalid:\n{problems}") from None


def _where(data: Any, location: tuple) -> str:
    """`feeds[0] (contacts -> leads).columns.created_at.format` rather than a bare index path."""
    parts, node = [], data
    for key in location:
        if isinstance(key, int):
            if isinstance(node, list) and key < len(node):
                node = node[key]
            # (a single entry written without its list, `skip_when: {...}`, is entry 0 and the node itself)
            is_feed = isinstance(node, dict) and "folder" in node and "into" in node
            label = f" ({node.get('folder')} -> {node.get('into')})" if is_feed else ""
            parts[-1] = f"{parts[-1]}[{key}]{label}" if parts else f"[{key}]"
            continue
        if isinstance(key, str) and key.startswith("function-"):  # pydantic's validators, not the user's keys
            continue
        parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "the mapping"
