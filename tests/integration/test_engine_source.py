"""The engine route of a sync's tables (leadops.sources.engine_sql / engine_rules), run on DuckDB,
gives the rows the file route loads from the same data: each Fivetran table as one file in its
landing folder for the loader, and as one table of a `hubspot` (`salesforce`) schema for the
engine's statements. Every contract table, the custom fields and the quarantine's reasons are
compared as multisets; `tests/spark/` runs the same statements on Spark."""

import shutil
from pathlib import Path

import duckdb
import pytest
from test_fivetran_hubspot import HANDWRITTEN as HUBSPOT_ROWS
from test_fivetran_salesforce import HANDWRITTEN as SALESFORCE_ROWS

from leadops.contract import SOURCES, with_event_types
from leadops.demo_data import generate
from leadops.demo_data.fivetran import write_fivetran_hubspot
from leadops.loader import load_feeds
from leadops.sources.engine_rules import engine_statements
from leadops.sources.engine_sql import DUCKDB, source_tables
from leadops.sources.mapping import load_mapping

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fivetran"


def _samples(landing: Path, preset: str) -> None:
    folder, prefix = ("hubspot", "") if preset == "fivetran-hubspot" else ("salesforce", "sf_")
    for sample in (FIXTURES / folder).glob(f"{prefix}*_data.csv"):
        table = sample.name.removeprefix(prefix).removesuffix("_data.csv")
        (landing / table).mkdir(parents=True)
        shutil.copy(sample, landing / table / sample.name)


def _handwritten(landing: Path, preset: str) -> None:
    for table, text in (HUBSPOT_ROWS if preset == "fivetran-hubspot" else SALESFORCE_ROWS).items():
        (landing / table).mkdir(parents=True)
        (landing / table / "handwritten.csv").write_text(text)


def _demo(landing: Path, preset: str) -> None:
    write_fivetran_hubspot(landing, generate, leads=200, seed=3)


CASES = {
    "hubspot-samples": ("fivetran-hubspot", _samples),
    "hubspot-handwritten": ("fivetran-hubspot", _handwritten),
    "hubspot-demo-data": ("fivetran-hubspot", _demo),
    "salesforce-samples": ("fivetran-salesforce", _samples),
    "salesforce-handwritten": ("fivetran-salesforce", _handwritten),
}


def both_routes(landing: Path, warehouse: Path, preset: str) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """The file route into `raw`, the engine route into `engine`, in one DuckDB file."""
    mapping = load_mapping(preset)
    con = duckdb.connect(str(warehouse))
    for source in SOURCES.values():
        declared = with_event_types(source, tuple(mapping.event_types))
        load_feeds(con, declared, landing, mapping.feeds_into(source.name))
    schema = mapping.database.schema_
    con.execute(f"create schema {schema}")
    for table in source_tables(mapping):
        files = [str(path) for path in sorted((landing / table).glob("*.csv"))]
        if files:
            con.execute(
                f"create table {schema}.{table} as select * from read_csv(?, header = true, all_varchar = true)",
                [files],
            )
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall():
        columns.setdefault(table, []).append((column, kind))
    rendered = engine_statements(mapping, DUCKDB, schema, columns, into="engine")
    for statement in rendered.statements:
        con.execute(statement)
    return con, rendered.notes


def differences(con: duckdb.DuckDBPyConnection, columns: str, table: str) -> tuple[list, list]:
    raw, engine = f"select {columns} from raw.{table}", f"select {columns} from engine.{table}"
    return (
        con.execute(f"{raw} except all {engine}").fetchall(),
        con.execute(f"{engine} except all {raw}").fetchall(),
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_engine_route_loads_and_quarantines_what_the_file_route_does(case, tmp_path):
    preset, write = CASES[case]
    landing = tmp_path / "landing"
    write(landing, preset)
    con, _ = both_routes(landing, tmp_path / "warehouse.duckdb", preset)
    with con:
        con.execute("set TimeZone = 'UTC'")
        for name, source in SOURCES.items():
            assert differences(con, ", ".join(f'"{c}"' for c in source.column_names), name) == ([], []), name
        assert differences(con, "lead_id, attribute, value", "lead_attributes") == ([], [])
        assert differences(con, "source, reason", "quarantine") == ([], [])
        # Every row of every table read is loaded, quarantined or skipped with its reason.
        accounted = dict(
            con.execute(
                "select outcome, sum(row_count) from engine.source_rows group by all "
                "having outcome in ('loaded', 'quarantined')"
            ).fetchall()
        )
        loaded = sum(con.execute(f"select count(*) from raw.{name}").fetchone()[0] for name in SOURCES)
        assert accounted.get("loaded", 0) == loaded
        assert accounted.get("quarantined", 0) == con.execute("select count(*) from raw.quarantine").fetchone()[0]
        assert loaded > 0
        if case.endswith("demo-data"):
            assert con.execute("select count(*) from engine.leads").fetchone() == (200,)
