"""Salesforce leads, read as Fivetran syncs them, scored, and written back to their own records
through simple-salesforce against a local org that enforces Salesforce's contract: by record id,
a converted lead on the Contact it became (Salesforce refuses updates to a converted Lead), Rating
from the segment, a campaign per segment, a spent daily quota resumed the next day, and a deleted
record refused with Salesforce's message."""

import contextlib
import io

import duckdb
import pytest
from salesforce_contract import salesforce_org  # noqa: F401

from cli.main import main
from leadops.sync.settings import DEFAULTS, load_sync_config

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"
SYNCED = "2026-06-01 02:00:00"
LANDING = {
    "lead": (
        "id,is_deleted,_fivetran_synced,email,first_name,last_name,title,company,website,country,created_date,"
        "lead_source,has_opted_out_of_email,is_converted,converted_date,converted_contact_id,converted_opportunity_id\n"
        f"00QL1,false,{SYNCED},ann@acme.com,Ann,Acme,VP Marketing,Acme,www.acme.com,Germany,2026-01-05 09:00:00,"
        "Web,false,true,2026-03-01 10:00:00,003C1,\n"
        f"00QL2,false,{SYNCED},carl@initech.io,Carl,Init,CTO,Initech,initech.io,United States,2026-02-01 09:00:00,"
        "Partner,false,false,,,\n"
        f"00QL5,false,{SYNCED},eve@umbrella.com,Eve,Umb,Intern,Umbrella,umbrella.com,France,2026-03-01 09:00:00,"
        "Web,false,false,,,\n"
    ),
    "contact": (
        "id,is_deleted,_fivetran_synced,account_id,email,first_name,last_name,title,mailing_country_code,"
        "created_date,has_opted_out_of_email,is_email_bounced\n"
        f"003C1,false,{SYNCED},001A1,ann@acme.com,Ann,Acme,VP Marketing,DE,2026-03-01 10:00:00,false,false\n"
        f"003C2,false,{SYNCED},001A2,dora@globex.com,Dora,Glo,CFO,US,2026-02-10 09:00:00,false,false\n"
    ),
    "account": (
        "id,is_deleted,_fivetran_synced,name,website,industry,number_of_employees,billing_country_code\n"
        f"001A1,false,{SYNCED},Acme,www.acme.com,Software,800,DE\n"
        f"001A2,false,{SYNCED},Globex,https://globex.com/,Manufacturing,5000,US\n"
    ),
}
SEGMENTS = ("sql", "mql", "warm", "cold", "disqualified")
RATING = {"sql": "Hot", "mql": "Warm", "warm": "Warm", "cold": "Cold"}


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture
def org(salesforce_org, tmp_path, monkeypatch):  # noqa: F811
    """The org with leadops' custom fields on Lead and Contact and the sample's records in it."""
    fields = [field for _, field in load_sync_config().fields("salesforce")]
    salesforce_org.add_custom_fields("Lead", fields)
    salesforce_org.add_custom_fields("Contact", fields)
    for record_id, kind, email in [
        ("00QL1", "Lead", "ann@acme.com"),
        ("003C1", "Contact", "ann@acme.com"),
        ("00QL2", "Lead", "carl@initech.io"),
        ("00QL5", "Lead", "eve@umbrella.com"),
        ("003C2", "Contact", "dora@globex.com"),
    ]:
        salesforce_org.records[record_id] = {"type": kind, "Email": email}
    salesforce_org.records["00QL1"]["IsConverted"] = True
    monkeypatch.setenv("LEADOPS_SALESFORCE_INSTANCE_URL", salesforce_org.url)
    monkeypatch.setenv("LEADOPS_SALESFORCE_CLIENT_ID", salesforce_org.client_id)
    monkeypatch.setenv("LEADOPS_SALESFORCE_CLIENT_SECRET", salesforce_org.client_secret)
    config = DEFAULTS.read_text().replace("  rating: {}  #", f"  rating: {RATING}  #")
    config = config.replace(
        "  campaigns: {}", "  campaigns: {" + ", ".join(f"{s}: 'leadops {s}'" for s in SEGMENTS) + "}"
    )
    (tmp_path / "sync.yml").write_text(config)
    monkeypatch.setenv("LEADOPS_SYNC_CONFIG", str(tmp_path / "sync.yml"))
    return salesforce_org


def test_salesforce_records_get_their_scores(tmp_path, org, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    for table, rows in LANDING.items():
        (landing / table).mkdir(parents=True)
        (landing / table / f"{table}.csv").write_text(rows)
    # The org's daily API limit is spent: the refresh's sync stops cleanly, having written
    # nothing, and the next day's sync resumes.
    org.daily_limit = 0
    command = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF, "--quiet"]
    assert main([*command, "--source", "fivetran-salesforce"]) == 0
    assert not org.written_ids()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (stopped,) = con.execute("select stopped from ops.sync_runs where destination = 'salesforce'").fetchone()
        scores = dict(con.execute("select lead_id, score from marts.lead_scores").fetchall())
        segments = dict(con.execute("select lead_id, segment from marts.lead_scores").fetchall())
    assert "daily quota" in stopped
    assert set(scores) == {"00QL1", "00QL2", "00QL5", "003C2"}  # 003C1 is lead 00QL1, converted

    org.daily_limit = None
    org.new_day()
    code, out = _cli("sync", "salesforce", "--warehouse", str(warehouse), "--source", "fivetran-salesforce")
    assert code == 0, out
    assert "sent 4, accepted 4, failed 0" in out
    # The converted lead's values are on its Contact; the Lead itself stays as it was.
    written = {"003C1": "00QL1", "00QL2": "00QL2", "00QL5": "00QL5", "003C2": "003C2"}
    for record_id, lead_id in written.items():
        record = org.records[record_id]
        assert float(record["Lead_Score__c"]) == pytest.approx(float(scores[lead_id]))
        assert record["Lead_Segment__c"] == segments[lead_id]
        if record["type"] == "Lead":
            assert record["Rating"] == RATING.get(segments[lead_id], record.get("Rating"))
    assert "Lead_Score__c" not in org.records["00QL1"]
    for segment in SEGMENTS:
        members = {record for record, lead in written.items() if segments[lead] == segment}
        assert org.campaign_members(f"leadops {segment}") == members if members else True

    # Nothing changed: nothing sent. A deleted contact: refused with Salesforce's code, the rest accepted.
    before = len(org.written_ids())
    code, out = _cli("sync", "salesforce", "--warehouse", str(warehouse), "--source", "fivetran-salesforce")
    assert "0 changed" in out and len(org.written_ids()) == before
    org.delete_record("003C2")
    code, out = _cli("sync", "salesforce", "--full", "--warehouse", str(warehouse), "--source", "fivetran-salesforce")
    assert code == 1 and "sent 4, accepted 3, failed 1" in out, out
    assert "ENTITY_IS_DELETED" in out
    code, out = _cli("status", "--warehouse", str(warehouse))
    assert "003C2 (record 003C2, 1 time(s)): ENTITY_IS_DELETED" in out
    assert org.client_secret not in out and org.token not in out
