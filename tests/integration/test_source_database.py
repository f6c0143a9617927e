"""A sync tool's database as the source: the mapping's tables are read where the sync writes them
(a DuckDB file, a real PostgreSQL server), only the rows changed since the last run, and scored."""

from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from cli.main import main
from leadops.settings import Settings
from orchestration.definitions import build_definitions

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"

MAPPING = """
name: crm-sync
database: {schema: crm, cursor: _synced}
feeds:
  - folder: people
    into: leads
    columns: {lead_id: id, email: mail, created_at: created, job_title: title}
  - folder: touches
    into: activity
    columns:
      event_id: id
      lead_id: person_id
      event_type: {column: kind, values: {OPEN: email_open, VISIT: page_view, DEMO: demo_request}}
      occurred_at: happened
"""

FIRST_SYNC = [
    "create schema crm",
    "create table crm.people (id varchar, mail varchar, created timestamp, title varchar, _synced timestamp)",
    "create table crm.touches (id varchar, person_id varchar, kind varchar, happened timestamp, _synced timestamp)",
    "insert into crm.people values "
    "('P1', 'ann@acme.io', '2026-05-01 09:00', 'CEO', '2026-06-01 00:00'), "
    "('P2', 'bob@acme.io', '2026-05-02 09:00', 'Engineer', '2026-06-01 00:00'), "
    "('P3', 'cy@beta.io', '2026-05-03 09:00', 'Intern', '2026-06-01 00:00')",
    "insert into crm.touches values "
    "('T1', 'P1', 'DEMO', '2026-06-20 10:00', '2026-06-01 00:00'), "
    "('T2', 'P1', 'OPEN', '2026-06-21 10:00', '2026-06-01 00:00'), "
    "('T3', 'P2', 'VISIT', '2026-06-22 10:00', '2026-06-01 00:00'), "
    "('T4', 'P3', 'FAX', '2026-06-22 11:00', '2026-06-01 00:00')",  # a kind no event type reads
]
# Between the two runs the sync adds a lead, re-writes P2 (a new title), and adds two touches.
SECOND_SYNC = [
    "update crm.people set title = 'VP Engineering', _synced = '2026-06-29 00:00' where id = 'P2'",
    "insert into crm.people values ('P4', 'dee@gamma.io', '2026-06-28 09:00', 'CTO', '2026-06-29 00:00')",
    "insert into crm.touches values "
    "('T5', 'P4', 'DEMO', '2026-06-29 10:00', '2026-06-29 00:00'), "
    "('T6', 'P2', 'OPEN', '2026-06-29 11:00', '2026-06-29 00:00')",
]


class DuckDBSync:
    def __init__(self, root: Path):
        self.path = root / "sync.duckdb"
        self.url = f"duckdb:///{self.path}"

    def write(self, statements: list[str]) -> None:
        with duckdb.connect(str(self.path)) as con:
            for statement in statements:
                con.execute(statement)


class PostgresSync:
    def __init__(self, url: str):
        self.url = url

    def write(self, statements: list[str]) -> None:
        with psycopg.connect(self.url, autocommit=True) as con:
            for statement in statements:
                con.execute(statement)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def sync(request, tmp_path_factory):
    if request.param == "duckdb":
        return DuckDBSync(tmp_path_factory.mktemp("duckdb"))
    return PostgresSync(request.getfixturevalue("postgres_url"))


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def two_runs(sync, tmp_path_factory):
    """Run, let the sync add rows, run again, and once more with nothing new."""
    root = tmp_path_factory.mktemp("runs")
    (root / "mapping.yml").write_text(MAPPING)
    warehouse = root / "warehouse.duckdb"
    command = ["run", "--source", str(root / "mapping.yml"), "--source-database", sync.url]
    command += ["--warehouse", str(warehouse), "--as-of", AS_OF, "--quiet"]
    codes, counts = [], []
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        sync.write(FIRST_SYNC)
        for change in ([], SECOND_SYNC, []):
            sync.write(change)
            codes.append(main(command))
            counts.append(
                rows(warehouse, "select (select count(*) from raw.leads), (select count(*) from raw.activity)")[0]
            )
    return warehouse, codes, counts, root


def test_each_run_reads_only_what_the_sync_changed(two_runs):
    warehouse, codes, counts, _ = two_runs
    assert codes == [0, 0, 0]
    # 3 people and 3 touches (T4's FAX is quarantined), then P2 again, P4, T5 and T6; then nothing.
    assert counts == [(3, 3), (5, 5), (5, 5)]
    assert rows(
        warehouse, "select source, sum(rows_read), sum(rows_loaded) from raw.ingested_files group by 1 order by 1"
    ) == [
        ("activity", 6, 5),
        ("leads", 5, 5),
    ]
    (reason,) = rows(warehouse, "select reason from raw.quarantine")[0]
    assert "FAX" in reason


def test_the_latest_row_of_a_re_synced_lead_is_the_lead_and_all_are_scored(two_runs):
    warehouse, _, _, _ = two_runs
    assert rows(warehouse, "select lead_id, job_title from staging.stg_raw__leads order by 1") == [
        ("P1", "CEO"),
        ("P2", "VP Engineering"),
        ("P3", "Intern"),
        ("P4", "CTO"),
    ]
    scores = dict(rows(warehouse, "select lead_id, score from marts.lead_scores"))
    assert sorted(scores) == ["P1", "P2", "P3", "P4"]
    assert scores["P1"] > scores["P3"]  # a CEO who asked for a demo, above an intern with no events


def test_each_table_is_an_asset_at_the_start_of_the_lineage(sync, two_runs):
    _, _, _, root = two_runs
    settings = Settings(source=str(root / "mapping.yml"), source_database=sync.url, warehouse=root / "w.duckdb")
    graph = build_definitions(settings).resolve_asset_graph()
    assert graph.get(dg.AssetKey(["raw", "leads"])).parent_keys == {dg.AssetKey(["landing", "people"])}
    people = graph.get(dg.AssetKey(["landing", "people"]))
    assert people.is_materializable and "dlt" in people.kinds
