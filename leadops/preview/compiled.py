"""The pipeline's own SQL for a preview: the dbt models compiled once, kept until the project changes.

Compiled SQL does not depend on the data, only on the project, the as_of date and whether a model
is built incrementally. So the models are compiled against an empty, temporary DuckDB file: every
incremental model then compiles to its full-refresh form (there is no table to add to), and no
compile ever opens the warehouse, which a running refresh holds. The as_of date is compiled as a
sentinel literal and replaced by the warehouse's own date when the SQL is used, so one compile
serves every date. The compile (about 6 s: dbt parses the project for another profile) is kept in a
cache folder named by a hash of the manifest `leadops prepare` wrote, outside the pipeline's dbt
target and the data folder; a new `leadops prepare` makes the next preview compile again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# The date the models are compiled as of; no scoring run is ever made for it.
SENTINEL_AS_OF = "1901-02-03"
SENTINEL_LITERAL = f"cast('{SENTINEL_AS_OF}' as date)"
# The name the compiled SQL gives the database: the temporary file's stem.
COMPILED_CATALOG = "warehouse"
# What the preview rescores, and the models it never builds (history and calibration slices).
OUTPUT_MODELS = ("lead_scores", "lead_score_factors", "segment_members")
CACHE_VERSION = 1


class CompileError(RuntimeError):
    """dbt could not compile the models; the message carries dbt's output."""


@dataclass(frozen=True)
class Model:
    unique_id: str
    name: str
    schema: str
    materialized: str
    depends_on: tuple[str, ...]
    sql: str  # compiled, the as_of date as SENTINEL_LITERAL

    def sql_as_of(self, as_of: date) -> str:
        sql = self.sql.replace(SENTINEL_LITERAL, f"cast('{as_of.isoformat()}' as date)")
        if SENTINEL_AS_OF in sql:  # a macro that used the date otherwise than as_of_date() renders it
            raise CompileError(f"{self.name}: the as_of date is compiled into it in another form")
        return sql


@dataclass(frozen=True)
class CompiledProject:
    """The models downstream of the `config.*` sources that the scores need, in build order, and
    which configuration table each depends on directly."""

    models: tuple[Model, ...]
    config_sources: dict[str, str]  # source unique_id -> config table name

    def by_id(self) -> dict[str, Model]:
        return {m.unique_id: m for m in self.models}


def compiled_project(project_dir: Path, manifest_path: Path, cache_dir: Path) -> CompiledProject:
    """The compiled models, from the cache when it holds this manifest's, else compiled now."""
    if not manifest_path.exists():
        raise CompileError(f"{manifest_path} does not exist: run `leadops prepare` (or make prepare) first")
    key = hashlib.sha256(manifest_path.read_bytes()).hexdigest()[:16]
    cached = cache_dir / f"compiled-{CACHE_VERSION}-{key}.json"
    if cached.exists():
        return _load(cached)
    manifest = _compile(project_dir)
    project = _models_for_preview(manifest)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(_dump(project)), encoding="utf-8")
    os.replace(partial, cached)  # a preview running meanwhile reads the whole file or none
    return project


def _compile(project_dir: Path) -> dict:
    project_dir = project_dir.resolve()
    dbt = Path(sys.executable).parent / "dbt"
    with tempfile.TemporaryDirectory(prefix="leadops-preview-compile-") as temporary:
        folder = Path(temporary)
        env = {
            **os.environ,
            "LEADOPS_WAREHOUSE": str(folder / f"{COMPILED_CATALOG}.duckdb"),
            "LEADOPS_AS_OF": SENTINEL_AS_OF,
            "LEADOPS_DBT_TARGET": "duckdb",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        select = [f"+{name}" for name in OUTPUT_MODELS]
        command = [
            str(dbt) if dbt.exists() else "dbt",
            "compile",
            "--quiet",
            "--no-partial-parse",
            "--target-path",
            str(folder / "target"),
            "--log-path",
            str(folder / "logs"),
            "--profiles-dir",
            str(project_dir),
            "--project-dir",
            str(project_dir),
            "--select",
            *select,
        ]
        done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CompileError(f"dbt compile failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
        return json.loads((folder / "target" / "manifest.json").read_text(encoding="utf-8"))


def _models_for_preview(manifest: dict) -> CompiledProject:
    nodes, children, parents = manifest["nodes"], manifest["child_map"], manifest["parent_map"]
    config_sources = {
        uid: source["name"] for uid, source in manifest["sources"].items() if source["schema"] == "config"
    }
    downstream = _closure(config_sources, children)
    outputs = {uid for uid, n in nodes.items() if n["resource_type"] == "model" and n["name"] in OUTPUT_MODELS}
    needed = (_closure(outputs, parents) | outputs) & downstream
    ordered = _topological(needed, parents)
    models = []
    for uid in ordered:
        node = nodes[uid]
        if not node.get("compiled_code"):
            raise CompileError(f"dbt compiled no SQL for {node['name']}")
        models.append(
            Model(
                unique_id=uid,
                name=node["name"],
                schema=node["schema"],
                materialized=node["config"]["materialized"],
                depends_on=tuple(node["depends_on"]["nodes"]),
                sql=node["compiled_code"],
            )
        )
    return CompiledProject(models=tuple(models), config_sources=config_sources)


def _closure(start, edges: dict[str, list[str]]) -> set[str]:
    seen, stack = set(), list(start)
    while stack:
        for nxt in edges.get(stack.pop(), []):
            if nxt.startswith("model.") and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _topological(needed: set[str], parents: dict[str, list[str]]) -> list[str]:
    ordered, done = [], set()

    def visit(uid: str, path: tuple[str, ...]) -> None:
        if uid in done:
            return
        if uid in path:
            raise CompileError(f"the models form a cycle through {uid}")
        for parent in sorted(parents.get(uid, [])):
            if parent in needed:
                visit(parent, (*path, uid))
        done.add(uid)
        ordered.append(uid)

    for uid in sorted(needed):
        visit(uid, ())
    return ordered


def _dump(project: CompiledProject) -> dict:
    return {
        "config_sources": project.config_sources,
        "models": [{**m.__dict__, "depends_on": list(m.depends_on)} for m in project.models],
    }


def _load(path: Path) -> CompiledProject:
    data = json.loads(path.read_text(encoding="utf-8"))
    models = tuple(Model(**{**m, "depends_on": tuple(m["depends_on"])}) for m in data["models"])
    return CompiledProject(models=models, config_sources=data["config_sources"])
