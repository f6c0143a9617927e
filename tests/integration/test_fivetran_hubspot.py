"""HubSpot as Fivetran syncs it, scored with `--source fivetran-hubspot`: Fivetran's own sample rows
(tests/fixtures/fivetran/hubspot), one landing folder per table, plus hand-written rows in the same
shapes. The samples' addresses are hashed (`property_email`, `recipient`) and their ids do not join
across tables, so the hand-written rows (contacts 901-905 and their events, deal 7001) prove the
joins: events to contacts by address, engagements through engagement_contact, deals through
deal_contact, merged contacts through the canonical contact's list and contact_merge_audit.
Every source row is loaded, quarantined with a reason, skipped with its reason counted, or in a file
rejected whole; a second run loads nothing twice."""

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
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fivetran" / "hubspot"
SYNCED = "2026-06-01 02:00:00"
HANDWRITTEN = {
    "contact": (
        "id,_fivetran_deleted,_fivetran_synced,property_email,property_firstname,property_lastname,"
        "property_jobtitle,property_company,property_country,property_createdate,property_lifecyclestage,"
        "property_hs_merged_object_ids\n"
        f"901,false,{SYNCED},Ida@IdealCo.com,Ida,Ideal,Founder & CEO,IdealCo,United States,2026-01-10 09:00:00,"
        "salesqualifiedlead,902\n"
        f"902,false,{SYNCED},ida.old@idealco.com,Ida,Ideal,CEO,IdealCo,United States,2026-01-05 09:00:00,lead,\n"
        f"903,true,{SYNCED},gone@example.com,Gus,Gone,,,,2026-02-01 09:00:00,lead,\n"
        f"904,false,{SYNCED},bob@smallshop.de,Bob,Small,Marketing Manager,Smallshop,Germany,2025-11-02 14:30:00,"
        "opportunity,\n"
    ),
    "contact_merge_audit": f"canonical_vid,contact_id,vid_to_merge,_fivetran_synced\n901,901,905,{SYNCED}\n",
    "email_event": (
        "id,_fivetran_synced,created,email_campaign_id,type,filtered_event,recipient\n"
        f"hw-open,{SYNCED},2026-05-02 10:00:00,77,OPEN,false, IDA@idealco.com\n"
        f"hw-click,{SYNCED},2026-05-02 10:05:00,77,CLICK,false,ida.old@idealco.com\n"
        f"hw-sent,{SYNCED},2026-05-02 09:00:00,77,SENT,false,bob@smallshop.de\n"
        f"hw-delivered,{SYNCED},2026-05-02 09:01:00,77,DELIVERED,false,bob@smallshop.de\n"
        f"hw-bot,{SYNCED},2026-05-02 09:02:00,77,OPEN,true,bob@smallshop.de\n"
        f"hw-bounce,{SYNCED},2026-05-03 09:00:00,78,BOUNCE,false,bob@smallshop.de\n"
        f"hw-status,{SYNCED},2026-05-04 09:00:00,78,STATUSCHANGE,false,bob@smallshop.de\n"
        f"hw-stranger,{SYNCED},2026-05-04 09:00:00,78,OPEN,false,stranger@nowhere.io\n"
    ),
    "email_event_click": f"id,_fivetran_synced,url\nhw-click,{SYNCED},https://idealco.com/pricing\n",
    "email_event_status_change": (
        f"id,_fivetran_synced,portal_subscription_status,source\nhw-status,{SYNCED},UNSUBSCRIBED,SOURCE_RECIPIENT\n"
    ),
    "contact_form_submission": (
        "timestamp,form_id,contact_id,conversion_id,page_url,title,_fivetran_synced\n"
        f"2026-05-05 11:00:00,demo-form,905,hw-form-1,https://idealco.com/demo,Request Demo,{SYNCED}\n"
    ),
    "engagement_contact": f"contact_id,engagement_id,engagement_type,_fivetran_synced\n904,hw-call-1,CALL,{SYNCED}\n",
    "engagement_call": (
        "engagement_id,_fivetran_deleted,_fivetran_synced,property_hs_timestamp,type\n"
        f"hw-call-1,false,{SYNCED},2026-05-06 15:00:00,CALL\n"
        f"hw-call-2,true,{SYNCED},2026-05-06 16:00:00,CALL\n"
    ),
    "deal_contact": f"contact_id,deal_id,_fivetran_synced\n902,7001,{SYNCED}\n",
    "deal": "deal_id,is_deleted,property_amount,property_createdate\n7001,false,50000,2026-03-01 10:00:00\n",
    "deal_stage": (
        "_fivetran_start,deal_id,_fivetran_active,date_entered,value,_fivetran_synced\n"
        f"2026-03-01 10:00:00,7001,false,2026-03-01 10:00:00,appointmentscheduled,{SYNCED}\n"
        f"2026-03-20 10:00:00,7001,false,2026-03-20 10:00:00,contractsent,{SYNCED}\n"
        f"2026-04-01 10:00:00,7001,true,2026-04-01 10:00:00,closedwon,{SYNCED}\n"
    ),
    "contact_property_history": (
        "contact_id,timestamp,_fivetran_synced,source,name,value\n"
        f"904,2026-04-01 08:00:00,{SYNCED},CRM_UI,lifecyclestage,lead\n"
        f"904,2026-05-01 08:00:00,{SYNCED},CRM_UI,lifecyclestage,opportunity\n"
        f"904,2026-05-01 08:00:00,{SYNCED},CRM_UI,jobtitle,Marketing Manager\n"
    ),
    "company": (
        "id,is_deleted,_fivetran_synced,property_name,property_domain,property_industry,"
        "property_numberofemployees,property_country\n"
        f"501,false,{SYNCED},IdealCo,idealco.com,Software,1200,United States\n"
        f"502,false,{SYNCED},Smallshop,https://www.smallshop.de/,Retail,12,Germany\n"
        f"503,true,{SYNCED},Gone Inc,gone.example,Retail,5,\n"
    ),
}


def run(landing: Path, warehouse: Path) -> tuple[int, str]:
    command = ["run", "--source", "fivetran-hubspot", "--landing", str(landing), "--warehouse", str(warehouse)]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main([*command, "--as-of", AS_OF])
    return code, output.getvalue()


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> tuple[Path, Path, tuple[int, str], tuple[int, str]]:
    root = tmp_path_factory.mktemp("fivetran-hubspot")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    for sample in SAMPLES.glob("*_data.csv"):
        table = sample.name.removesuffix("_data.csv")
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


def test_the_leads_are_the_contacts_with_merged_ones_as_one(synced):
    _, warehouse, (code, output), _ = synced
    # The one problem: the sample's company table has no domain column, so its file is rejected whole.
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert code == 1 and len(errors) == 1
    assert "company/company_data.csv, line 1: the mapping reads 'property_domain' (for company_domain)" in errors[0]
    assert rows(
        warehouse,
        "select lead_id, email, created_at::varchar, first_name, job_title, company_name, country from raw.leads "
        "order by 1",
    ) == [
        ("901", "ida@idealco.com", "2026-01-10 09:00:00", "Ida", "Founder & CEO", "IdealCo", "US"),
        ("904", "bob@smallshop.de", "2025-11-02 14:30:00", "Bob", "Marketing Manager", "Smallshop", "DE"),
    ]
    attributes = dict(rows(warehouse, "select attribute, value from raw.lead_attributes where lead_id = '901'"))
    assert attributes["crm_object_type"] == "contact" and attributes["lifecycle_stage"] == "salesqualifiedlead"
    assert rows(warehouse, "select lead_id from marts.lead_scores order by 1") == [("901",), ("904",)]
    # The samples' contacts: hashed addresses are no addresses, and three were merged into 78971951.
    assert rows(
        warehouse,
        "select count(*) from raw.quarantine where source = 'leads' and reason like 'email % is not an address'",
    ) == [(19,)]
    assert "contact/contact_data.csv: 3 of 22 row(s) skipped: merged into another record" in output
    assert "contact/handwritten.csv: 1 of 4 row(s) skipped: deleted in HubSpot" in output
    assert "contact/handwritten.csv: 1 of 4 row(s) skipped: merged into another record" in output


def test_events_join_their_contact_and_a_merged_contacts_count_for_the_canonical_one(synced):
    _, warehouse, _, _ = synced
    assert rows(
        warehouse,
        "select event_id, lead_id, event_type, url, campaign_id from raw.activity "
        "where event_id like 'hw-%' order by 1",
    ) == [
        ("hw-call-1", "904", "call", None, None),  # its contact from engagement_contact; hw-call-2 is deleted
        ("hw-click", "901", "email_click", "https://idealco.com/pricing", "77"),  # merged-away 902's address
        ("hw-delivered", "904", "email_delivered", None, "77"),
        ("hw-form-1", "901", "form_submission", "https://idealco.com/demo", None),  # 905, merged by the audit
        ("hw-open", "901", "email_open", None, "77"),  # the address trimmed and without case
        ("hw-status", "904", "unsubscribe", None, "78"),  # recipient and time from email_event
    ]
    assert rows(warehouse, "select event_type, count(*) from raw.activity group by 1 order by 1") == [
        ("call", 2),  # a type the preset declares (event_types): hw-call-1 and the samples' one call
        ("email_click", 1),
        ("email_delivered", 1),
        ("email_open", 1),
        ("form_submission", 6),  # and the samples' five, whose contacts are not in the sample
        ("unsubscribe", 1),
    ]
    quarantined = dict(
        rows(
            warehouse,
            "select regexp_extract(record, '''?event_id''?: ([^,]+)', 1), reason from raw.quarantine "
            "where source = 'activity'",
        )
    )
    assert quarantined["hw-bounce"].startswith("event_type 'BOUNCE' is not one of email_delivered")
    assert (
        quarantined["hw-stranger"]
        == "missing required lead_id: no contact row has property_email 'stranger@nowhere.io'"
    )
    assert rows(
        warehouse,
        "select count(*) from raw.quarantine where reason like 'missing required lead_id: no engagement_contact%'",
    ) == [(104,)]  # the samples' meetings, notes, tasks and email: no engagement_contact row names them


def test_deals_and_lifecycle_stages_are_conversions(synced):
    _, warehouse, _, _ = synced
    assert rows(
        warehouse, "select lead_id, stage, occurred_at::varchar, amount from raw.conversions order by 1, 3"
    ) == [
        ("901", "opportunity", "2026-03-01 10:00:00", 50000.0),  # deal 7001 of merged-away 902
        ("901", "closed_won", "2026-04-01 10:00:00", 50000.0),
        ("904", "opportunity", "2026-05-01 08:00:00", None),  # its lifecycle stage
    ]
    assert rows(warehouse, "select company_domain, industry, employees, country from raw.accounts order by 1") == [
        ("idealco.com", "Software", 1200, "US"),
        ("smallshop.de", "Retail", 12, "DE"),
    ]


def test_every_source_row_is_accounted_for(synced):
    """Per file: its rows = rows read + rows skipped (the output counts each reason), and rows read =
    loaded + quarantined; a file rejected whole is in raw.rejected_files with its reason."""
    landing, warehouse, (_, output), _ = synced
    # A file may feed two tables (contact_property_history: attribute_history and conversions): the
    # output's lines of a file follow the summary line of the table they were read into.
    skipped: dict[tuple[str, str], int] = {}
    table = None
    for line in output.splitlines():
        if found := re.match(r"raw/(\w+): ", line):
            table = found.group(1)
        elif found := re.match(r"^  (\S+): (\d+) of \d+ row\(s\) (?:skipped|have no)", line):
            key = (table, found.group(1))
            skipped[key] = skipped.get(key, 0) + int(found.group(2))
    ingested = rows(
        warehouse, "select source, file_name, rows_read, rows_loaded, rows_quarantined from raw.ingested_files"
    )
    rejected = {name for (name,) in rows(warehouse, "select distinct file_name from raw.rejected_files")}
    assert rejected == {"company/company_data.csv"}
    with duckdb.connect() as con:
        for source, file, read, loaded, quarantined in ingested:
            (in_file,) = con.execute(
                "select count(*) from read_csv(?, header = true)", [str(landing / file)]
            ).fetchone()
            assert (read == loaded + quarantined, in_file) == (True, read + skipped.get((source, file), 0)), file
    read_by_feeds = {name for _, name, *_ in ingested} | rejected
    feed_folders = {"contact", "company", "email_event", "email_event_status_change", "contact_form_submission"}
    feed_folders |= {f"engagement_{kind}" for kind in ("call", "email", "meeting", "note", "task")}
    feed_folders |= {"deal", "deal_stage", "contact_property_history"}
    on_disk = {str(path.relative_to(landing)) for folder in feed_folders for path in (landing / folder).iterdir()}
    assert on_disk <= read_by_feeds


def test_a_second_run_loads_nothing_twice(synced):
    _, warehouse, _, (code, output) = synced
    assert code == 1  # the sample's company file is rejected again, until it has a domain column
    for table in ("activity", "conversions", "leads"):
        assert re.search(rf"raw/{table}: 0 file\(s\) loaded, \d+ skipped, 0 rejected", output)
    assert rows(warehouse, "select source, file_name from raw.ingested_files group by all having count(*) > 1") == []
    assert rows(
        warehouse,
        "select (select count(*) from raw.leads), (select count(*) from raw.activity), "
        "(select count(*) from raw.conversions), (select count(*) from raw.quarantine)",
    ) == [(2, 12, 3, 362)]  # the two calls load as the preset's declared type


def test_status_counts_the_email_events_whose_recipient_is_no_lead(synced, capsys):
    _, warehouse, _, _ = synced
    main(["status", "--warehouse", str(warehouse)])
    printed = capsys.readouterr().out
    assert "quarantined rows (raw.quarantine, every run): 362" in printed
    assert "activity: missing required lead_id: no contact row has property_email …" in printed
