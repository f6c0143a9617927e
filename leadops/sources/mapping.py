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
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the file and the entry."""


def _column_shorthand(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


class ColumnMap(BaseModel):
    """One contract column (or custom field) of a feed: from a CRM column, or a constant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = Field(default=None, min_length=1, max_length=200)
    value: str | None = Field(default=None, max_length=200)
    format: list[str] | None = None  # strptime formats tried in order, or epoch_ms / epoch_s
    values: dict[str, str] | None = None  # CRM label -> contract value, matched case-insensitively

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
        if self.value is not None and (self.format or self.values):
            raise ValueError("a constant value takes no format or values")
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

    @field_validator("folder")
    @classmethod
    def _folder_name(cls, folder: str) -> str:
        if not FOLDER.match(folder):
            raise ValueError(f"'{folder}' is not a folder name (lower-case letters, digits, - and _)")
        return folder

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
        return not self.columns and self.when is None and self.folder == self.into

    @property
    def label(self) -> str:
        return f"{self.folder} -> {self.into}"


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
    feeds: list[Feed] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _without_extensions(cls, data: Any) -> Any:
        # `x-` keys hold YAML anchors that the feeds share (formats, value maps), as in compose files.
        return {k: v for k, v in data.items() if not str(k).startswith("x-")} if isinstance(data, dict) else data

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
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            label = (
                f" ({node.get('folder')} -> {node.get('into')})" if isinstance(node, dict) and "folder" in node else ""
            )
            parts[-1] = f"{parts[-1]}[{key}]{label}" if parts else f"[{key}]"
            continue
        if key in ("function-before[_column_shorthand(), ColumnMap]", "function-after[_column_or_value(), ColumnMap]"):
            continue
        parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "the mapping"
