"""A manifest overlay: one configuration's scores, rebuilt in memory from the pipeline's compiled SQL.

An in-memory DuckDB connection attaches the warehouse read-only under the name its own views use
(its file's stem). For each configuration an in-memory catalog of its own (the overlay) gets the
configuration's `config.*` tables, written by `write_config_tables` as a run writes them; then
each model downstream of a configuration table that differs from the warehouse's, in the
manifest's order, is created in the overlay from its compiled SQL, its references to rebuilt
models and to `config.*` pointed at the overlay. Every other reference reads the warehouse: the
raw data, the staging views and whatever the change does not touch (a threshold change rebuilds
the score tables, not the engagement accumulated over the whole event log). Nothing is written to
the warehouse; nothing of the overlay outlives the connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from leadops.config import CONFIG_TABLE_COLUMNS, ScoringConfig, write_config_tables
from leadops.preview.compiled import COMPILED_CATALOG, CompiledProject, Model
from leadops.sql import quote_identifier, quote_literal

RELATION = re.compile(rf'"{COMPILED_CATALOG}"\."([^"]+)"\."([^"]+)"')
RESERVED_CATALOGS = {"memory", "system", "temp", "main"}


class WarehouseLocked(RuntimeError):
    """A refresh holds the warehouse: DuckDB refuses even a read-only open while a writer has it."""


@dataclass
class Scoring:
    """Where one configuration's tables are: rebuilt ones in `catalog`, the rest in the warehouse."""

    name: str
    catalog: str
    warehouse: str
    rebuilt: set[tuple[str, str]] = field(default_factory=set)
    config_in_overlay: bool = True
    changed_config: tuple[str, ...] = ()
    seconds: float = 0.0

    def relation(self, schema: str, name: str) -> str:
        inside = (schema, name) in self.rebuilt or (schema == "config" and self.config_in_overlay)
        catalog = self.catalog if inside else self.warehouse
        return ".".join(quote_identifier(part) for part in (catalog, schema, name))


def open_warehouse(path: Path, memory_limit: str | None = None) -> tuple[duckdb.DuckDBPyConnection, str]:
    """(an in-memory connection with the warehouse attached read-only, the name it is attached as)."""
    alias = path.stem
    if alias.lower() in RESERVED_CATALOGS or alias.startswith("leadops_preview"):
        raise ValueError(f"a warehouse named {path.name} cannot be previewed: its name is one DuckDB reserves")
    con = duckdb.connect(":memory:")
    if memory_limit:
        con.execute(f"set memory_limit = {quote_literal(memory_limit)}")
    con.execute("set preserve_insertion_order = false")
    try:
        con.execute(f"attach {quote_literal(str(path))} as {quote_identifier(alias)} (read_only)")
    except duckdb.IOException as error:
        con.close()
        raise WarehouseLocked(str(error)) from None
    return con, alias


def warehouse_scoring(alias: str) -> Scoring:
    """The scores as the last run left them: every table the warehouse's own."""
    return Scoring(name="warehouse", catalog=alias, warehouse=alias, config_in_overlay=False)


def build_overlay(
    con: duckdb.DuckDBPyConnection,
    project: CompiledProject,
    config: ScoringConfig,
    as_of: date,
    warehouse: str,
    name: str,
    rebuild_all: bool = False,
) -> Scoring:
    """Rescore under `config` into the in-memory catalog `leadops_preview_<name>`."""
    import time

    started = time.perf_counter()
    catalog = f"leadops_preview_{name}"
    con.execute(f"attach ':memory:' as {quote_identifier(catalog)}")
    con.execute(f"use {quote_identifier(catalog)}")
    try:
        write_config_tables(con, config)
    finally:
        con.execute("use memory")
    scoring = Scoring(name=name, catalog=catalog, warehouse=warehouse)
    scoring.changed_config = tuple(t for t in CONFIG_TABLE_COLUMNS if _differs(con, warehouse, catalog, t))
    changed_sources = {uid for uid, table in project.config_sources.items() if table in scoring.changed_config}
    # A config table holds several settings (bands: grades, tiers and segment thresholds), so the
    # change is judged by the rows of the staging views over it: only a view whose rows differ
    # marks its downstream as changed. Every such view is made in the overlay (a view costs
    # nothing), so its downstream reads it even from a warehouse built before the view existed.
    staging = [m for m in project.models if m.depends_on and set(m.depends_on) <= set(project.config_sources)]
    as_built = Scoring(name="as built", catalog=warehouse, warehouse=warehouse, config_in_overlay=False)
    changed: set[str] = set()
    for model in staging:
        _create(con, scoring, model, as_of)
        if rebuild_all or (
            changed_sources & set(model.depends_on) and _view_differs(con, scoring, as_built, model, as_of)
        ):
            changed.add(model.unique_id)
    staged = {m.unique_id for m in staging}
    for model in project.models:  # in build order: a model's parents come before it
        if model.unique_id in staged:
            continue
        if rebuild_all or (changed | changed_sources) & set(model.depends_on):
            changed.add(model.unique_id)
            _create(con, scoring, model, as_of)
    scoring.seconds = time.perf_counter() - started
    return scoring


def _sql(scoring: Scoring, model: Model, as_of: date) -> str:
    return RELATION.sub(lambda match: scoring.relation(match.group(1), match.group(2)), model.sql_as_of(as_of))


def _create(con: duckdb.DuckDBPyConnection, scoring: Scoring, model: Model, as_of: date) -> None:
    sql = _sql(scoring, model, as_of)  # before the model is marked rebuilt: it reads the others
    scoring.rebuilt.add((model.schema, model.name))
    con.execute(f"create schema if not exists {quote_identifier(scoring.catalog)}.{quote_identifier(model.schema)}")
    kind = "view" if model.materialized == "view" else "table"
    con.execute(f"create {kind} {scoring.relation(model.schema, model.name)} as {sql}")


def _view_differs(
    con: duckdb.DuckDBPyConnection, scoring: Scoring, as_built: Scoring, model: Model, as_of: date
) -> bool:
    """Whether a staging view has other rows over the overlay's config tables than over the warehouse's."""
    ours, theirs = _sql(scoring, model, as_of), _sql(as_built, model, as_of)
    try:
        (different,) = con.execute(
            f"select count(*) from ((({ours}) except all ({theirs})) union all (({theirs}) except all ({ours})))"
        ).fetchone()
    except duckdb.CatalogException:  # a warehouse from before its config table existed
        return True
    return different > 0


def _differs(con: duckdb.DuckDBPyConnection, warehouse: str, catalog: str, table: str) -> bool:
    """Whether the configuration table `table` of the overlay has other rows than the warehouse's."""
    theirs = f"{quote_identifier(warehouse)}.config.{quote_identifier(table)}"
    ours = f"{quote_identifier(catalog)}.config.{quote_identifier(table)}"
    columns = ", ".join(quote_identifier(c) for c in CONFIG_TABLE_COLUMNS[table])
    try:
        (different,) = con.execute(
            f"select count(*) from ((select {columns} from {theirs} except all select {columns} from {ours}) "
            f"union all (select {columns} from {ours} except all select {columns} from {theirs}))"
        ).fetchone()
    except duckdb.CatalogException:  # a warehouse from before the table existed
        return True
    return different > 0


def warehouse_as_of(con: duckdb.DuckDBPyConnection, warehouse: str) -> date | None:
    """The as_of date the warehouse's scores were computed for, or None when it has none."""
    try:
        (as_of,) = con.execute(
            f"select max(as_of_date) from {quote_identifier(warehouse)}.marts.lead_scores"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return as_of
