"""`--source fivetran-hubspot` read from the database Fivetran writes, not from files: a DuckDB file
whose `hubspot` schema holds the hand-written rows of test_fivetran_hubspot.py as typed tables
(timestamps, integers and booleans, as a sync writes them). The reader extracts every table the
preset reads, its lookups' and merged ids' too, as Parquet; the joins then hold as they do on CSV."""

import contextlib
import io
from pathlib import Path

import duckdb
import pytest
from test_fivetran_hubspot import HANDWRITTEN

from cli.main import main
from leadops.sources.mapping import load_mapping
from leadops.sql import quote_identifier, quote_literal

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"
# The preset reads these too; the hand-written rows have none of them.
EMPTY = "engagement_id varchar, _fivetran_deleted boolean, _fivetran_synced timestamp, property_hs_timestamp timestamp"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> tuple[Path, int, str]:
    root = tmp_path_factory.mktemp("fivetran-database")
    mapping = load_mapping("fivetran-hubspot")
    sync = root / "sync.duckdb"
    with duckdb.connect(str(sync)) as con:
        con.execute("create schema hubspot")
        for table in (*mapping.folders, *mapping.lookup_folders):
            name = f"hubspot.{quote_identifier(table)}"
            if table not in HANDWRITTEN:
                con.execute(f"create table {name} ({EMPTY})")
                continue
            csv = root / f"{table}.csv"
            text = HANDWRITTEN[table]
            if "_fivetran_synced" not in text.splitlines()[0]:  # every synced table has the cursor
                lines = text.splitlines()
                text = "\n".join(
                    [f"{lines[0]},_fivetran_synced", *(f"{line},2026-06-01 02:00:00" for line in lines[1:])]
                )
            csv.write_text(text + "\n")
            con.execute(f"create table {name} as select * from read_csv({quote_literal(str(csv))})")
        (types,) = con.execute(
            "select list(distinct data_type order by data_type) from information_schema.columns "
            "where table_schema = 'hubspot'"
        ).fetchone()
    assert {"BIGINT", "BOOLEAN", "TIMESTAMP", "VARCHAR"} <= set(types)  # typed, not all text
    warehouse = root / "warehouse.duckdb"
    command = ["run", "--source", "fivetran-hubspot", "--source-database", f"duckdb:///{sync}"]
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main([*command, "--warehouse", str(warehouse), "--as-of", AS_OF])
    return warehouse, code, output.getvalue()


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_synced_tables_join_as_their_files_do(extracted):
    warehouse, code, output = extracted
    assert code == 0, output
    assert rows(warehouse, "select lead_id, email, created_at::varchar, country from raw.leads order by 1") == [
        ("901", "ida@idealco.com", "2026-01-10 09:00:00", "US"),
        ("904", "bob@smallshop.de", "2025-11-02 14:30:00", "DE"),
    ]
    assert rows(
        warehouse, "select event_id, lead_id, event_type, occurred_at::varchar from raw.activity order by 1"
    ) == [
        ("hw-call-1", "904", "call", "2026-05-06 15:00:00"),
        ("hw-click", "901", "email_click", "2026-05-02 10:05:00"),
        ("hw-delivered", "904", "email_delivered", "2026-05-02 09:01:00"),
        ("hw-form-1", "901", "form_submission", "2026-05-05 11:00:00"),
        ("hw-open", "901", "email_open", "2026-05-02 10:00:00"),
        ("hw-status", "904", "unsubscribe", "2026-05-04 09:00:00"),
    ]
    assert rows(
        warehouse, "select lead_id, stage, occurred_at::varchar, amount from raw.conversions order by 1, 3"
    ) == [
        ("901", "opportunity", "2026-03-01 10:00:00", 50000.0),
        ("901", "closed_won", "2026-04-01 10:00:00", 50000.0),
        ("904", "opportunity", "2026-05-01 08:00:00", None),
    ]
    assert rows(warehouse, "select company_domain from raw.accounts order by 1") == [
        ("idealco.com",),
        ("smallshop.de",),
    ]
