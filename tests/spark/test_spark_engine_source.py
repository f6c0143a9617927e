"""A Fivetran HubSpot schema in Spark's own catalog is read there by the engine (`--source-database
spark`), with no detour through DuckDB, and scores every lead as the DuckDB route does on the same
rows: the demo CRM in Fivetran's tables, 300 leads, plus rows the contract quarantines."""

import csv
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from leadops.demo_data import generate
from leadops.demo_data.fivetran import write_fivetran_hubspot

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark installs it)")
pytestmark = pytest.mark.spark

AS_OF = "2026-06-30"
SCHEMA = "hubspot_sync"  # not the preset's `hubspot`: --source-schema names it

# The sync's side: a Spark session as the dbt profile's (same warehouse and metastore), writing each
# table as a sync into the catalog would, typed by Spark's CSV inference. Its own process, so that
# the metastore is free again for the run's.
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pyspark.sql import SparkSession

    landing, warehouse, schema = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    spark = (
        SparkSession.builder.enableHiveSupport()
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={warehouse}/metastore_db;create=true")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sql(f"create database if not exists {schema}")
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        rows = spark.read.options(header=True, inferSchema=True, escape='"', multiLine=True).csv(str(folder))
        rows.write.mode("overwrite").saveAsTable(f"{schema}.{folder.name}")
    spark.stop()
    """
)


def _add_rows(landing: Path) -> None:
    """Rows the contract refuses, in both routes' data: no address, no date, an unknown recipient, a
    type the preset has no event type for."""
    for table, changes in (
        (
            "contact",
            [{"id": "bad-1", "property_email": "not-an-address"}, {"id": "bad-2", "property_createdate": "soon"}],
        ),
        ("email_event", [{"id": "bad-3", "recipient": "stranger@nowhere.io"}, {"id": "bad-4", "type": "BOUNCE"}]),
    ):
        path = landing / table / f"{table}.csv"
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            template = next(reader)
            header = reader.fieldnames
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
            for change in changes:
                writer.writerow({**template, **change})


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> tuple[Path, Path, Path, str]:
    """(DuckDB warehouse, Spark warehouse folder, the Spark run's DuckDB file, its output)."""
    root = tmp_path_factory.mktemp("engine-source")
    landing = root / "synced"
    write_fivetran_hubspot(landing, generate, leads=300, seed=11, end_date=date.fromisoformat(AS_OF))
    _add_rows(landing)
    os.environ.pop("DAGSTER_HOME", None)
    duckdb_build = root / "duckdb.duckdb"
    command = ["run", "--source", "fivetran-hubspot", "--landing", str(landing), "--warehouse", str(duckdb_build)]
    assert main([*command, "--as-of", AS_OF]) == 0

    spark_warehouse = root / "spark-warehouse"
    environment = {**os.environ, "LEADOPS_SPARK_WAREHOUSE": str(spark_warehouse)}
    written = subprocess.run(
        [sys.executable, "-c", WRITER, str(landing), str(spark_warehouse), SCHEMA],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr[-5000:]

    spark_raw = root / "spark" / "warehouse.duckdb"
    spark_run = subprocess.run(
        [
            str(Path(sys.executable).parent / "leadops"),
            "run",
            "--source",
            "fivetran-hubspot",
            "--source-database",
            "spark",
            "--source-schema",
            SCHEMA,
            "--warehouse",
            str(spark_raw),
            "--lake",
            str(root / "lake"),
            "--dbt-target",
            "spark",
            "--as-of",
            AS_OF,
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    log_file = spark_raw.parent / "logs" / "last_run.log"
    log = log_file.read_text() if log_file.exists() else ""
    assert spark_run.returncode == 0, spark_run.stdout + spark_run.stderr + log[-5000:]
    assert "built on spark" in spark_run.stdout
    return duckdb_build, spark_warehouse, spark_raw, log


def _spark(spark_warehouse: Path, schema: str, table: str) -> str:
    folder = spark_warehouse / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark did not write {schema}.{table}"
    return f"read_parquet('{folder}/*.parquet')"


def test_the_scores_and_segments_are_the_duckdb_routes(routes):
    warehouse, spark_warehouse, _, _ = routes
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, key in (("lead_scores", "lead_id"), ("segment_members", "lead_id, segment")):
            only_one_side, segment_differs, worst_score_gap, leads = con.execute(
                f"""
                with duck as (select * from marts.{table}),
                spark as (select * from {_spark(spark_warehouse, "marts", table)})
                select
                    count_if(duck.lead_id is null or spark.lead_id is null),
                    count_if(duck.segment is distinct from spark.segment),
                    max(abs(duck.score::double - spark.score::double)),
                    count(*)
                from duck full outer join spark using ({key})
                """
            ).fetchone()
            assert leads >= 300, table
            assert (only_one_side, segment_differs) == (0, 0), table
            assert worst_score_gap <= 1e-9, table


def test_the_rows_were_read_by_spark_not_by_duckdb(routes):
    warehouse, spark_warehouse, spark_raw, _ = routes
    with duckdb.connect(str(spark_raw), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables() where schema_name = 'raw'").fetchone() == (0,)
    statements = spark_raw.parent.parent / "lake" / "engine_source" / "statements.jsonl"
    assert f"{SCHEMA}`.`contact`" in statements.read_text()  # what Spark ran
    with duckdb.connect() as con:
        outcomes = dict(
            con.execute(
                f"select outcome, row_count from {_spark(spark_warehouse, 'raw', 'source_rows')} "
                f"where source_table = '{SCHEMA}.contact'"
            ).fetchall()
        )
    assert outcomes == {"loaded": 300, "quarantined": 2}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in ("leads", "accounts", "activity", "conversions", "lead_attributes"):
            duck = con.execute(f"select count(*) from raw.{table}").fetchone()
            assert duck == con.execute(f"select count(*) from {_spark(spark_warehouse, 'raw', table)}").fetchone()


def test_the_same_rows_are_quarantined_for_the_same_reasons(routes):
    warehouse, spark_warehouse, _, _ = routes
    with duckdb.connect(str(warehouse), read_only=True) as con:
        duck = con.execute("select source, reason, count(*) from raw.quarantine group by all order by all").fetchall()
        spark = con.execute(
            f"select source, reason, count(*) from {_spark(spark_warehouse, 'raw', 'quarantine')} "
            "group by all order by all"
        ).fetchall()
    assert len(duck) == 4 and spark == duck
