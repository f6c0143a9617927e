"""The same dbt models on Spark and on DuckDB give the same scores and segments."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from leadops.demo_data import generate

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark installs it)")
pytestmark = pytest.mark.spark

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Path, Path]:
    """(DuckDB warehouse, Spark warehouse folder): one refresh per engine, from the same files."""
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    generate(landing, leads=400, seed=8, end_date=date.fromisoformat(AS_OF))
    os.environ.pop("DAGSTER_HOME", None)
    duckdb_build = root / "duckdb.duckdb"
    assert main(["run", "--landing", str(landing), "--warehouse", str(duckdb_build), "--as-of", AS_OF]) == 0

    # The same command on Spark, in a process of its own as a user would run it: only the target changes.
    spark_warehouse = root / "spark-warehouse"
    spark_run = subprocess.run(
        [
            str(Path(sys.executable).parent / "leadops"),
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(root / "spark-raw.duckdb"),
            "--lake",
            str(root / "lake"),
            "--dbt-target",
            "spark",
            "--as-of",
            AS_OF,
        ],
        env={**os.environ, "LEADOPS_SPARK_WAREHOUSE": str(spark_warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    log = (root / "logs" / "last_run.log").read_text() if (root / "logs" / "last_run.log").exists() else ""
    assert spark_run.returncode == 0, spark_run.stdout + spark_run.stderr + log[-5000:]
    assert "built on spark" in spark_run.stdout
    return duckdb_build, spark_warehouse


def _spark_table(spark_warehouse: Path, schema: str, table: str) -> str:
    folder = spark_warehouse / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark did not write {schema}.{table}"
    return f"read_parquet('{folder}/*.parquet')"


@pytest.mark.parametrize("table", ["lead_scores", "segment_members"])
def test_spark_and_duckdb_agree(builds, table):
    warehouse, spark_warehouse = builds
    with duckdb.connect(str(warehouse), read_only=True) as con:
        only_one_side, segment_differs, worst_score_gap, leads = con.execute(
            f"""
            with duck as (select * from marts.{table}),
            spark as (select * from {_spark_table(spark_warehouse, "marts", table)})
            select
                count_if(duck.lead_id is null or spark.lead_id is null),
                count_if(duck.segment is distinct from spark.segment or duck.lead_id is null or spark.lead_id is null),
                max(abs(duck.score::double - spark.score::double)),
                count(*)
            from duck full outer join spark using ({"lead_id, segment" if table == "segment_members" else "lead_id"})
            """
        ).fetchone()
    assert leads >= 400
    assert only_one_side == 0
    assert segment_differs == 0
    assert worst_score_gap <= 1e-9
