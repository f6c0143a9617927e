"""Salesforce as Fivetran syncs it, scored with `--source fivetran-salesforce`: Fivetran's own
sample rows (tests/fixtures/fivetran/salesforce), one landing folder per table, plus hand-written
rows in the same shapes. The samples' ids do not join across tables (their tasks name contacts the
sample lacks, their opportunities are all deleted), so the hand-written rows prove the joins: lead
00QL1 converted into contact 003C1 and opportunity 006O1 is one lead with one conversion per stage,
lead 00QL4 merged into 00QL2 counts for it, and a contact's company is its account's.
Every source row is loaded, quarantined with a reason, or skipped with its reason counted; a second
run loads nothing twice."""

import contextlib
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from cli.main import main

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fivetran" / "salesforce"
SYNCED = "2026-06-01 02:00:00"
HANDWRITTEN = {
    "lead": (
        "id,is_deleted,_fivetran_synced,email,first_name,last_name,title,company,website,country,created_date,"
        "lead_source,has_opted_out_of_email,is_converted,converted_date,converted_contact_id,"
        "converted_opportunity_id,master_record_id\n"
        f"00QL1,false,{SYNCED},ann@acme.com,Ann,Acme,VP Marketing,Acme,www.acme.com,Germany,2026-01-05 09:00:00,"
        "Web,false,true,2026-03-01 10:00:00,003C1,006O1,\n"
        f"00QL2,false,{SYNCED},carl@initech.io,Carl,Init,Engineer,Initech,,United States,2026-02-01 09:00:00,"
        "Partner,false,false,,,,\n"
        f"00QL3,true,{SYNCED},gone@example.com,Gus,Gone,,,,,2026-02-02 09:00:00,,false,false,,,,\n"
        f"00QL4,true,{SYNCED},carl.dup@initech.io,Carl,Init,,Initech,,,2026-02-03 09:00:00,,false,false,,,,00QL2\n"
    ),
    "contact": (
        "id,is_deleted,_fivetran_synced,account_id,email,first_name,last_name,title,mailing_country_code,"
        "created_date,has_opted_out_of_email,is_email_bounced\n"
        f"003C1,false,{SYNCED},001A1,ann@acme.com,Ann,Acme,VP Marketing,DE,2026-03-01 10:00:00,false,false\n"
        f"003C2,false,{SYNCED},001A2,dora@globex.com,Dora,Glo,CFO,US,2026-02-10 09:00:00,false,true\n"
    ),
    "account": (
        "id,is_deleted,_fivetran_synced,name,website,industry,number_of_employees,billing_country_code\n"
        f"001A1,false,{SYNCED},Acme,www.acme.com,Software,800,DE\n"
        f"001A2,false,{SYNCED},Globex,https://globex.com/,Manufacturing,5000,US\n"
    ),
    "task": (
        "id,is_deleted,_fivetran_synced,who_id,subject,task_subtype,status,is_closed,activity_date\n"
        f"00TT1,false,{SYNCED},003C1,Intro call,Call,Completed,true,2026-03-05 00:00:00\n"
        f"00TT2,false,{SYNCED},00QL2,Follow up,Task,Open,false,2026-07-01 00:00:00\n"
        f"00TT3,false,{SYNCED},00QL4,Newsletter,ListEmail,Completed,true,2026-02-05 00:00:00\n"
    ),
    "event": (
        f"id,is_deleted,_fivetran_synced,who_id,activity_date_time,subject,type\n"
        f"00UE1,false,{SYNCED},00QL2,2026-04-02 15:00:00,Demo,Meeting\n"
    ),
    "opportunity": (
        "id,is_deleted,_fivetran_synced,account_id,name,amount,close_date,created_date,stage_name,is_closed,is_won\n"
        f"006O1,false,{SYNCED},001A1,Acme deal,120000,2026-04-15 00:00:00,2026-03-01 10:00:00,Closed Won,true,true\n"
        f"006O2,false,{SYNCED},001A2,Globex deal,5000,2026-04-20 00:00:00,2026-03-10 10:00:00,Closed Lost,true,false\n"
        f"006O3,false,{SYNCED},001A2,Globex more,9000,2026-09-01 00:00:00,2026-05-10 10:00:00,Proposal,false,false\n"
    ),
}


def run(landing: Path, warehouse: Path) -> tuple[int, str]:
    command = ["run", "--source", "fivetran-salesforce", "--landing", str(landing), "--warehouse", str(warehouse)]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main([*command, "--as-of", AS_OF])
    return code, output.getvalue()


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> tuple[Path, Path, tuple[int, str], tuple[int, str]]:
    root = tmp_path_factory.mktemp("fivetran-salesforce")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    for sample in SAMPLES.glob("sf_*_data.csv"):
        table = sample.name.removeprefix("sf_").removesuffix("_data.csv")
        (landing / table).mkdir(parents=True)
        shutil.copy(sample, landing / table / sample.name)
    for table, text in HANDWRITTEN.items():
        (landing / table / "handwritten.csv").write_text(text)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        first = run(landing, warehouse)
        again = run(landing, warehouse)
    return landing, warehouse, first, again


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_leads_and_contacts_are_leads_and_a_converted_lead_is_one(synced):
    _, warehouse, (code, output), _ = synced
    assert code == 0, output
    assert rows(
        warehouse,
        "select lead_id, email, created_at::varchar, job_title, company_domain, country from raw.leads order by 1",
    ) == [
        ("0031G00000qAfq1QAC", "hi@google.com", "2019-11-11 17:23:34", "Markeing Direcor", None, "US"),  # sample
        ("003C2", "dora@globex.com", "2026-02-10 09:00:00", "CFO", "globex.com", "US"),  # its account's domain
        ("00Q1G00000nDnM5UAK", "h@gmail.com", "2019-11-11 17:23:34", None, None, None),
        ("00QL1", "ann@acme.com", "2026-01-05 09:00:00", "VP Marketing", "acme.com", "DE"),  # not contact 003C1
        ("00QL2", "carl@initech.io", "2026-02-01 09:00:00", "Engineer", None, "US"),
    ]
    kinds = rows(
        warehouse,
        "select lead_id, value from raw.lead_attributes where attribute = 'crm_object_type' order by 1",
    )
    assert dict(kinds) == {
        "0031G00000qAfq1QAC": "contact",
        "003C2": "contact",
        "00Q1G00000nDnM5UAK": "lead",
        "00QL1": "lead",
        "00QL2": "lead",
    }
    assert rows(
        warehouse,
        "select value from raw.lead_attributes where lead_id = '00QL1' and attribute = 'converted_contact_id'",
    ) == [("003C1",)]
    assert "contact/handwritten.csv: 1 of 2 row(s) skipped: merged into another record (merged_ids)" in output
    assert "lead/handwritten.csv: 2 of 4 row(s) skipped: deleted in Salesforce" in output
    assert rows(warehouse, "select company_domain, company_name, industry, employees from raw.accounts order by 1") == [
        ("acme.com", "Acme", "Software", 800),
        ("globex.com", "Globex", "Manufacturing", 5000),
    ]


def test_activity_counts_for_the_lead_in_the_types_the_preset_declares(synced):
    """Tasks and events are calls, meetings and emails, types the preset declares (event_types)."""
    _, warehouse, _, _ = synced
    assert rows(
        warehouse,
        "select lead_id, event_type from raw.activity where _file_name like '%handwritten%' order by 1, 2",
    ) == [
        ("00QL1", "call"),  # contact 003C1's task counts for the lead it was converted from
        ("00QL2", "list_email"),  # merged-away lead 00QL4's
        ("00QL2", "meeting"),
    ]


def test_a_converted_lead_counts_each_stage_once(synced):
    _, warehouse, (_, output), _ = synced
    assert rows(warehouse, "select lead_id, stage, occurred_at::varchar, amount from raw.conversions order by 3") == [
        ("00QL1", "opportunity", "2026-03-01 10:00:00", 120000.0),
        ("00QL1", "closed_won", "2026-04-15 00:00:00", 120000.0),
    ]
    (reason,) = rows(warehouse, "select reason from raw.quarantine where source = 'conversions'")
    assert reason == ("missing required lead_id: no lead row has converted_opportunity_id '006O2'",)
    assert "opportunity/handwritten.csv: 1 of 3 row(s) skipped: still open" in output
    assert "opportunity/sf_opportunity_data.csv: 10 of 10 row(s) skipped: deleted in Salesforce" in output


def test_every_source_row_is_accounted_for(synced):
    """Per file: its rows = rows read + rows skipped (the output counts each reason), and rows read =
    loaded + quarantined."""
    landing, warehouse, (_, output), _ = synced
    skipped: dict[tuple[str, str], int] = {}
    section = ""
    for line in output.splitlines():
        if match := re.match(r"raw/(\w+):", line):
            section = match.group(1)
        elif match := re.match(r"  (\S+): (\d+) of \d+ row\(s\) (?:skipped|have no)", line):
            key = (section, match.group(1))
            skipped[key] = skipped.get(key, 0) + int(match.group(2))
    ingested = rows(
        warehouse, "select source, file_name, rows_read, rows_loaded, rows_quarantined from raw.ingested_files"
    )
    assert rows(warehouse, "select count(*) from raw.rejected_files") == [(0,)]
    with duckdb.connect() as con:
        for source, file, read, loaded, quarantined in ingested:
            (in_file,) = con.execute(
                "select count(*) from read_csv(?, header = true)", [str(landing / file)]
            ).fetchone()
            assert (read == loaded + quarantined, in_file) == (True, read + skipped.get((source, file), 0)), file
    by_feed = {(source, file) for source, file, *_ in ingested}
    folders = {"leads": ("lead", "contact"), "accounts": ("account",), "activity": ("task", "event")}
    folders["conversions"] = ("lead", "opportunity")
    on_disk = {
        (source, str(path.relative_to(landing)))
        for source, names in folders.items()
        for name in names
        for path in (landing / name).iterdir()
    }
    assert on_disk == by_feed


def test_a_second_run_loads_nothing_twice(synced):
    _, warehouse, _, (code, output) = synced
    assert code == 0, output
    for table in ("accounts", "activity", "conversions", "leads"):
        assert re.search(rf"raw/{table}: 0 file\(s\) loaded, \d+ skipped, 0 rejected", output)
    assert rows(warehouse, "select source, file_name from raw.ingested_files group by all having count(*) > 1") == []
    assert rows(
        warehouse,
        "select (select count(*) from raw.leads), (select count(*) from raw.conversions), "
        "(select count(*) from raw.quarantine)",
    ) == [(5, 2, 5)]  # the samples' tasks and events load as the preset's declared types
