"""The floor: the same scoring SQL as leadops, run by plain DuckDB straight on the landing files.

No orchestration, no ingest, no checks, no tests: the dbt models that `lead_scores` and
`segment_members` depend on, compiled once by dbt during preparation (`compile_plan`, untimed),
executed in topological order in one in-memory DuckDB connection where `raw.*` are views over the
files and `config.*` are written from scoring.yml by leadops' own code. Timed: the models'
execution only. Not timed: process start and imports, reading scoring.yml, creating the views,
exporting the two result tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from bench.contenders._common import PROJECT_ROOT, csv_files, parser, quoted, report
from leadops.contract import SOURCES

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
# The compiled SQL names its relations "<database>"."<schema>"."<table>"; the database is the
# file name of LEADOPS_WAREHOUSE at compile time, which this connection attaches under that name.
COMPILE_DATABASE = "bench_compile"
FINAL_MODELS = ("lead_scores", "segment_members")


def compile_plan(as_of: date, work: Path) -> Path:
    """Compile the dbt project for `as_of` and write the SQL of the models the final tables need, in order."""
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"LEADOPS_WAREHOUSE": str(work / f"{COMPILE_DATABASE}.duckdb"), "LEADOPS_DBT_TARGET": "duckdb"}
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            *(str(dbt), "compile", "--quiet", "--vars", json.dumps({"as_of": as_of.isoformat()})),
            *("--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)),
            *("--target-path", str(work / "target"), "--log-path", str(work / "logs")),
        ],
        env=env,
        check=True,
    )
    manifest = json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))
    plan = [_step(manifest["nodes"][uid]) for uid in _upstream_models(manifest)]
    path = work / f"plan_{as_of.isoformat()}.json"
    path.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return path


def _upstream_models(manifest: dict) -> list[str]:
    """The final models and every model they depend on, dependencies first (depth-first post-order)."""
    nodes, ordered, seen = manifest["nodes"], [], set()

    def visit(uid: str) -> None:
        if uid in seen or not uid.startswith("model."):
            return
        seen.add(uid)
        for dependency in sorted(nodes[uid]["depends_on"]["nodes"]):
            visit(dependency)
        ordered.append(uid)

    for name in FINAL_MODELS:
        visit(f"model.leadops.{name}")
    return ordered


def _step(node: dict) -> dict:
    materialized = node["config"]["materialized"]
    if materialized == "incremental":  # the accumulated models: compiled on an empty warehouse, a full build
        materialized = "table"
    if materialized not in ("view", "table"):
        raise ValueError(f"{node['name']} is {materialized}; the floor runs views and tables only")
    return {
        "name": node["name"],
        "schema": node["schema"],
        "materialized": materialized,
        "sql": node["compiled_code"],
    }


def raw_views(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    """`raw.*` as views over the files, with the types (and the lineage columns) the loader gives them.

    The CSVs are read as text and typed like the loader does; the loader's row-level cleaning
    (trimming, quarantining bad rows, ...) is left out: the demo data is clean.
    """
    con.execute("create schema if not exists raw")
    con.execute(f"""create view raw.leads as select
        lead_id, lower(trim(email)) as email, {_timestamp("created_at")} as created_at, first_name, last_name,
        job_title, company_name, lower(company_domain) as company_domain, country, lead_source,
        {_boolean("is_unsubscribed")} as is_unsubscribed, {_boolean("is_email_bounced")} as is_email_bounced,
        {_lineage()} from {csv_files(landing / "leads")}""")
    _lead_attributes(con, landing)
    con.execute(f"""create view raw.accounts as select
        lower(company_domain) as company_domain, company_name, industry, cast(employees as bigint) as employees,
        cast(annual_revenue as double) as annual_revenue, country, {_boolean("is_customer")} as is_customer,
        {_lineage()} from {csv_files(landing / "accounts")}""")
    con.execute(f"""create view raw.conversions as select
        lead_id, lower(stage) as stage, {_timestamp("occurred_at")} as occurred_at,
        cast(amount as double) as amount, {_lineage()} from {csv_files(landing / "conversions")}""")
    activity = quoted(str(landing / "activity" / "*.parquet"))
    con.execute(f"""create view raw.activity as select
        event_id, lead_id, event_type, occurred_at, url, content_id, campaign_id,
        0 as _batch_id, filename as _file_name, file_row_number + 1 as _line_number
        from read_parquet({activity}, filename = true, file_row_number = true)""")


def _lead_attributes(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    """The leads files' extra columns as the loader keeps them (one row per lead, field and row;
    empty values dropped), numbered like `raw.leads` so a lead's current row finds its own."""
    columns = [name for (name, *_) in con.execute(f"describe select * from {csv_files(landing / 'leads')}").fetchall()]
    extras = [name for name in columns if name not in SOURCES["leads"].column_names]
    if not extras:
        con.execute(
            "create view raw.lead_attributes as select * from (values (null::varchar, null::varchar, "
            "null::varchar, 0, '', 0)) as t(lead_id, attribute, value, _batch_id, _file_name, _line_number) where false"
        )
        return
    names = ", ".join(_quoted_name(c) for c in extras)
    numbered = f"select lead_id, {names}, {_lineage()} from {csv_files(landing / 'leads')}"
    con.execute(f"""create view raw.lead_attributes as
        select lead_id, attribute, value, _batch_id, _file_name, _line_number from (
            unpivot ({numbered}) on {names} into name attribute value value
        ) where trim(value) <> ''""")


def _quoted_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _timestamp(column: str) -> str:
    return f"(cast({column} as timestamptz) at time zone 'UTC')"


def _boolean(column: str) -> str:
    return f"(lower({column}) in ('true', 't', 'yes', 'y', '1'))"


def _lineage() -> str:
    return "0 as _batch_id, '' as _file_name, row_number() over () as _line_number"


def execute_plan(con: duckdb.DuckDBPyConnection, plan: list[dict]) -> dict[str, float]:
    seconds = {}
    for step in plan:
        started = time.perf_counter()
        con.execute(f'create schema if not exists "{step["schema"]}"')
        relation = f'"{COMPILE_DATABASE}"."{step["schema"]}"."{step["name"]}"'
        con.execute(f"create or replace {step['materialized']} {relation} as {step['sql']}")
        seconds[step["name"]] = round(time.perf_counter() - started, 3)
    return seconds


def export(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for table in FINAL_MODELS:
        target = quoted(str(out / f"{table}.parquet"))
        con.execute(f"copy (select * from marts.{table}) to {target} (format parquet)")
        rows[table] = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
    return rows


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--plan", type=Path, help="the compiled plan (compile_plan); compiled here if missing")
    args = arguments.parse_args(argv)
    from leadops.config import load_config, write_config_tables

    plan_path = args.plan or compile_plan(args.as_of, args.out.parent / "floor_compile")
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    con = duckdb.connect()
    # The same settings as leadops' dbt profile, so the floor differs from leadops in orchestration only.
    con.execute("set memory_limit = '3GB'; set preserve_insertion_order = false; set TimeZone = 'UTC'")
    con.execute(f"set temp_directory = {quoted(str(args.out.parent / 'floor_spill'))}")
    con.execute(f"attach ':memory:' as {COMPILE_DATABASE}")
    con.execute(f"use {COMPILE_DATABASE}")
    raw_views(con, args.landing)
    write_config_tables(con, load_config(args.config))
    started = time.perf_counter()
    models = execute_plan(con, plan)
    core = time.perf_counter() - started
    rows = export(con, args.out)
    report(core_s=round(core, 3), models=models, rows=rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
