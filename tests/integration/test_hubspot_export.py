"""A HubSpot contacts and companies export, downloaded from the CRM's UI and dropped in unchanged,
scored with `--source hubspot-export`: every row is a lead, a conversion, an account, or quarantined
with its reason; every column is mapped or kept as a custom field."""

import contextlib
import io
import shutil
from pathlib import Path

import duckdb
import pytest

from cli.main import main

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"

# As HubSpot's UI exports them (display-label headers, every value quoted); contact 104's
# "Create Date" is not a date.
EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "hubspot-export"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, int, str]:
    root = tmp_path_factory.mktemp("hubspot")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    for folder, export in (("contacts", "contacts"), ("companies", "companies")):
        (landing / folder).mkdir(parents=True)
        name = f"hubspot-crm-exports-all-{export}-2026-06-30.csv"
        shutil.copy(EXPORTS / name, landing / folder / name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        command = ["run", "--source", "hubspot-export", "--landing", str(landing), "--warehouse", str(warehouse)]
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main([*command, "--as-of", AS_OF])
    return warehouse, code, output.getvalue()


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_export_scores_with_every_row_accounted_for(exported):
    warehouse, code, _ = exported
    assert code == 0
    assert rows(warehouse, "select lead_id from raw.leads order by 1") == [("101",), ("102",), ("103",)]
    (quarantined,) = rows(warehouse, "select source, line_number, reason from raw.quarantine")
    assert quarantined[:2] == ("leads", 5) and "yesterday" in quarantined[2]
    assert rows(
        warehouse, "select source, rows_read, rows_loaded, rows_quarantined from raw.ingested_files order by 1"
    ) == [
        ("accounts", 2, 2, 0),
        ("conversions", 1, 1, 0),  # the one contact with a "Became a Customer Date"
        ("leads", 4, 3, 1),
    ]
    assert rows(warehouse, "select count(*) from marts.lead_scores") == [(3,)]


def test_the_crm_columns_become_the_contract_columns(exported):
    warehouse, _, _ = exported
    assert rows(
        warehouse,
        "select lead_id, email, created_at::varchar, job_title, company_domain, country, lead_source, is_unsubscribed "
        "from raw.leads order by lead_id",
    ) == [
        (
            "101",
            "ida@idealco.com",
            "2024-01-10 09:00:00",
            "Founder & CEO",
            "idealco.com",
            "US",
            "Organic Search",
            False,
        ),
        (
            "102",
            "bob@smallshop.de",
            "2025-11-02 14:30:00",
            "Marketing Manager",
            "smallshop.de",
            "DE",
            "Paid Social",
            False,
        ),
        ("103", "sam@gmail.com", "2026-02-28 00:00:00", "Student", None, "FR", "Direct Traffic", True),
    ]
    assert rows(warehouse, "select lead_id, stage, occurred_at::varchar from raw.conversions") == [
        ("102", "closed_won", "2026-03-15 12:00:00")
    ]
    assert rows(warehouse, "select company_domain, industry, employees from raw.accounts order by 1") == [
        ("idealco.com", "Software", 1200),
        ("smallshop.de", "Retail", 12),
    ]
    # What the contract has no column for is kept per lead, with HubSpot's internal lifecycle values.
    attributes = dict(
        rows(warehouse, "select attribute || ':' || lead_id, value from raw.lead_attributes where lead_id = '101'")
    )
    assert attributes["lifecycle_stage:101"] == "salesqualifiedlead"
    assert attributes["lead_status:101"] == "In progress"
    assert attributes["number_of_pageviews:101"] == "14"
    assert "record_id:101" not in attributes and "create_date:101" not in attributes


def test_the_ideal_buyer_scores_as_a_fit_and_the_run_says_what_it_mapped(exported):
    warehouse, _, output = exported
    not_conversions = "3 of 4 row(s) have no 'Became a Customer Date': not read into conversions"
    assert f"contacts/hubspot-crm-exports-all-contacts-2026-06-30.csv: {not_conversions}" in output
    assert "raw/leads: 1 file(s) loaded" in output and "1 of 4 rows quarantined" in output
    (ida,) = rows(
        warehouse, "select seniority, industry, employees from intermediate.int_leads_enriched where lead_id = '101'"
    )
    assert ida == ("executive", "software", 1200)
    scores = dict(rows(warehouse, "select lead_id, score from marts.lead_scores"))
    assert scores["101"] > scores["103"]
