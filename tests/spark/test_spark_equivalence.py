"""The same dbt models on Spark and on DuckDB give the same scores and segments."""

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from leadops.cli import main
from leadops.demo_data import generate
from orchestration.project import DBT_PROJECT_DIR, dbt_executable

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark installs it)")
pytestmark = pytest.mark.spark

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Path, Path]:
    """(DuckDB warehouse, Spark warehouse folder), both built from the same small demo data."""
    root = tmp_path_factory.mktemp("engines")
    landing, warehouse, lake = root / "landing", root / "warehouse.duckdb", root / "lake"
    generate(landing, leads=400, seed=8, end_date=date.fromisoformat(AS_OF))
    os.environ.pop("DAGSTER_HOME", None)
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF]) == 0
    assert main(["lake-export", "--warehouse", str(warehouse), "--out", str(lake)]) == 0

    spark_warehouse = root / "spark-warehouse"
    env = {**os.environ, "LEADOPS_DBT_TARGET": "spark", "LEADOPS_SPARK_WAREHOUSE": str(spark_warehouse)}
    dbt = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--target-path",
            str(root / "dbt-target"),
            "--vars",
            json.dumps({"as_of": AS_OF, "lake_path": str(lake)}),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dbt.returncode == 0, dbt.stdout[-5000:]
    return warehouse, spark_warehouse


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
                count_if(duck.segment is distinct from spark.segment),
                max(abs(duck.score::double - spark.score::double)),
                count(*)
            from duck full outer join spark using (lead_id)
            """
        ).fetchone()
    assert leads == 400
    assert only_one_side == 0
    assert segment_differs == 0
    assert worst_score_gap <= 1e-9
