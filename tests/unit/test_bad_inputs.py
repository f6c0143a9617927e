"""Each messy input a CRM export can bring, and what the loader does with it (issue: quality gates)."""

from pathlib import Path

import pytest

from leadops.contract import SOURCES
from leadops.loader import GateFinding, load_source

LEADS = "lead_id,email,created_at,first_name,job_title\n"


def drop(landing: Path, source: str, name: str, content: str | bytes) -> None:
    (landing / source).mkdir(parents=True, exist_ok=True)
    (landing / source / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def load(con, landing: Path, source: str = "leads", gate=None):
    return load_source(con, SOURCES[source], landing / source, gate=gate)


def quarantine(con) -> list[tuple]:
    return con.execute("select file_name, line_number, reason from raw.quarantine order by 1, 2").fetchall()


def test_duplicate_lead_id_in_one_file_keeps_the_last_row_and_quarantines_the_rest(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS + "L1,old@a.com,2026-01-01,Al,CEO\nL1,new@a.com,2026-01-02,Al,CEO\n")
    report = load(con, tmp_path)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
    assert con.execute("select email from raw.leads").fetchall() == [("new@a.com",)]
    assert quarantine(con) == [("leads/crm.csv", 2, "lead_id 'L1' appears again on line 3; the last row is kept")]


def test_duplicate_lead_id_across_files_loads_both_and_the_later_file_wins_in_staging(con, tmp_path):
    drop(tmp_path, "leads", "a_monday.csv", LEADS + "L1,old@a.com,2026-01-01,Al,CEO\n")
    drop(tmp_path, "leads", "b_tuesday.csv", LEADS + "L1,new@a.com,2026-01-01,Al,CEO\n")
    assert load(con, tmp_path).rows_loaded == 2
    # stg_raw__leads keeps the row of the latest batch; the integration tests check it through dbt.
    latest = con.execute("select email from raw.leads order by _batch_id desc limit 1").fetchone()
    assert latest == ("new@a.com",)


def test_a_duplicate_whose_later_row_is_invalid_keeps_the_valid_one(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS + "L1,ok@a.com,2026-01-01,Al,CEO\nL1,broken,2026-01-01,Al,CEO\n")
    load(con, tmp_path)
    assert con.execute("select email from raw.leads").fetchall() == [("ok@a.com",)]
    assert quarantine(con) == [("leads/crm.csv", 3, "email 'broken' is not an address")]


def test_mixed_case_and_padded_emails_are_normalised_not_quarantined(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS + "L1,  Ann.Lee@Example.COM\t,2026-01-01,Ann,CTO\n")
    assert load(con, tmp_path).rows_loaded == 1
    assert con.execute("select email from raw.leads").fetchone() == ("ann.lee@example.com",)


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("  page_view", "page_view"),
        ("page_view\r\n", "page_view"),
        ("\tpage_view ", "page_view"),
        ("page_view", "page_view"),
        (" \t ", None),
        ("", None),
    ],
)
def test_text_is_trimmed_of_spaces_tabs_and_line_breaks_in_parquet_files_too(con, tmp_path, written, loaded):
    # Trimming is skipped for values that neither start nor end with a space or control character;
    # the values at both edges of that shortcut must come out as a full trim gives them.
    (tmp_path / "activity").mkdir()
    con.execute(
        "copy (select 'e1' as event_id, ? as lead_id, ? as event_type, timestamp '2026-01-01' as occurred_at, "
        "? as campaign_id) to ? (format parquet)",
        [f" L1{written[len(written.rstrip()) :]}", written, written, str(tmp_path / "activity" / "events.parquet")],
    )
    load(con, tmp_path, "activity")
    if loaded is None:
        assert [r[2] for r in quarantine(con)] == ["missing required event_type"]
    else:
        row = con.execute("select lead_id, event_type, campaign_id from raw.activity").fetchone()
        assert row == ("L1", loaded, loaded)


def test_other_control_characters_and_non_ascii_spaces_are_kept(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS + "L1,a@b.com,2026-01-01,\x01Ann,\u00a0CTO\u00a0\n")
    load(con, tmp_path)
    assert con.execute("select first_name, job_title from raw.leads").fetchone() == ("\x01Ann", "\u00a0CTO\u00a0")


@pytest.mark.parametrize("email", ["bob@", "@example.com", "bob example.com", "bob@example", "a@@b.com"])
def test_malformed_emails_are_quarantined_with_the_value(con, tmp_path, email):
    drop(tmp_path, "leads", "crm.csv", LEADS + f"L1,{email},2026-01-01,Bob,CEO\n")
    load(con, tmp_path)
    assert quarantine(con) == [("leads/crm.csv", 2, f"email '{email}' is not an address")]


def test_null_ids_are_quarantined(con, tmp_path):
    drop(
        tmp_path,
        "activity",
        "events.csv",
        "event_id,lead_id,event_type,occurred_at\n,L1,page_view,2026-01-01\ne2,,page_view,2026-01-01\n",
    )
    report = load(con, tmp_path, "activity")
    assert report.rows_loaded == 0
    assert [r[2] for r in quarantine(con)] == ["missing required event_id", "missing required lead_id"]


def test_unknown_event_types_are_quarantined(con, tmp_path):
    drop(
        tmp_path,
        "activity",
        "events.csv",
        "event_id,lead_id,event_type,occurred_at\ne1,L1,Page_View,2026-01-01\ne2,L1,teleport,2026-01-01\n",
    )
    report = load(con, tmp_path, "activity")
    assert report.rows_loaded == 1  # case does not matter
    assert con.execute("select event_type from raw.activity").fetchone() == ("page_view",)
    assert quarantine(con)[0][2].startswith("event_type 'teleport' is not one of email_delivered, email_open")


def test_unparsable_timestamps_are_quarantined(con, tmp_path):
    drop(
        tmp_path,
        "activity",
        "events.csv",
        "event_id,lead_id,event_type,occurred_at\n"
        "e1,L1,page_view,31/12/2026\ne2,L1,page_view,2026-02-30\ne3,L1,page_view,2026-02-28T25:00:00\n",
    )
    load(con, tmp_path, "activity")
    assert [r[2] for r in quarantine(con)] == [
        "occurred_at '31/12/2026' is not a timestamp",
        "occurred_at '2026-02-30' is not a timestamp",
        "occurred_at '2026-02-28T25:00:00' is not a timestamp",
    ]


def test_timestamps_with_offsets_are_stored_in_utc(con, tmp_path):
    drop(
        tmp_path,
        "activity",
        "events.csv",
        "event_id,lead_id,event_type,occurred_at\ne1,L1,page_view,2026-01-01T10:00:00+02:00\n",
    )
    load(con, tmp_path, "activity")
    assert str(con.execute("select occurred_at from raw.activity").fetchone()[0]) == "2026-01-01 08:00:00"


@pytest.mark.parametrize(
    ("employees", "revenue", "reason"),
    [
        ("-5", "100", "employees '-5' is negative"),
        ("many", "100", "employees 'many' is not a whole number"),
        ("12.5", "100", "employees '12.5' is not a whole number"),
        ("10", "-1", "annual_revenue '-1' is negative"),
        ("10", "1M", "annual_revenue '1M' is not a number"),
    ],
)
def test_negative_or_non_numeric_sizes_are_quarantined(con, tmp_path, employees, revenue, reason):
    drop(tmp_path, "accounts", "a.csv", f"company_domain,employees,annual_revenue\nacme.com,{employees},{revenue}\n")
    load(con, tmp_path, "accounts")
    assert quarantine(con) == [("accounts/a.csv", 2, reason)]


def test_the_same_event_twice_in_one_file_is_loaded_once(con, tmp_path):
    row = "e1,L1,page_view,2026-01-01\n"
    drop(tmp_path, "activity", "events.csv", "event_id,lead_id,event_type,occurred_at\n" + row + row)
    report = load(con, tmp_path, "activity")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine(con)[0][2] == "event_id 'e1' appears again on line 3; the last row is kept"


def test_very_long_strings_are_quarantined_not_truncated(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS + f"L1,a@b.com,2026-01-01,{'A' * 5000},CEO\n")
    load(con, tmp_path)
    assert quarantine(con) == [("leads/crm.csv", 2, "first_name is 5000 characters long (at most 1000)")]
    (record,) = con.execute("select record from raw.quarantine").fetchone()
    assert "A" * 5000 in record  # nothing is lost: the whole row is kept as text


def test_spreadsheet_formulas_are_kept_as_text(con, tmp_path):
    formula = '"=HYPERLINK(""http://evil.example"",""click"")"'
    drop(tmp_path, "leads", "crm.csv", LEADS + f"L1,a@b.com,2026-01-01,{formula},CEO\n")
    load(con, tmp_path)
    # Data is data in the warehouse; exports neutralise it (see leadops.exports).
    assert con.execute("select first_name from raw.leads").fetchone() == ('=HYPERLINK("http://evil.example","click")',)


def test_a_header_only_file_is_rejected_and_not_marked_loaded(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS)
    (file,) = load(con, tmp_path).files
    assert file.status == "rejected" and "line 1: the file has a header but no rows" in file.message
    assert con.execute("select count(*) from raw.ingested_files").fetchone() == (0,)


def test_an_error_from_the_batch_gate_rejects_the_whole_file(con, tmp_path):
    # The gate judges while the rows are written; its rejection must undo the rows, the quarantined
    # row and the custom field alike.
    header = LEADS.replace("job_title", "job_title,budget")
    rows = "L1,a@b.com,2026-01-01,Al,CEO,high\nL2,b@b.com,1970-01-01,Bo,CTO,low\nL3,not-an-address,2026-01-01,Cy,VP,\n"
    drop(tmp_path, "leads", "crm.csv", header + rows)

    def gate(source, file_name, frame):
        old = frame[frame["created_at"] < "2000-01-01"]
        return [GateFinding("error", f"{len(old)} rows before 2000", int(old["_line_number"].iloc[0]))]

    (file,) = load(con, tmp_path, gate=gate).files
    assert file.status == "rejected"
    assert file.message.endswith("crm.csv, line 3: 1 rows before 2000")
    for table in ("leads", "quarantine", "lead_attributes", "ingested_files"):
        assert con.execute(f"select count(*) from raw.{table}").fetchone() == (0,), table


def test_a_warning_from_the_batch_gate_loads_the_file_and_reports(con, tmp_path):
    drop(tmp_path, "leads", "crm.csv", LEADS + "L1,a@b.com,2026-01-01,Al,\n")
    (file,) = load(con, tmp_path, gate=lambda *_: [GateFinding("warn", "job_title mostly empty")]).files
    assert (file.status, file.warnings) == ("loaded", ["job_title mostly empty"])


def test_an_event_delivered_again_by_a_later_file_counts_once(con, tmp_path):
    folder = tmp_path / "activity"
    folder.mkdir()
    header = "event_id,lead_id,event_type,occurred_at\n"
    (folder / "a.csv").write_text(header + "E1,L1,page_view,2026-06-01T10:00:00Z\n")
    load_source(con, SOURCES["activity"], folder)
    repeat = "E2,L1,page_view,2026-06-02T10:00:00Z\nE1,L1,page_view,2026-06-01T10:00:00Z\n"
    (folder / "b.csv").write_text(header + repeat)
    report = load_source(con, SOURCES["activity"], folder)

    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert con.execute("select event_id, _file_name from raw.activity order by event_id").fetchall() == [
        ("E1", "activity/a.csv"),
        ("E2", "activity/b.csv"),
    ]
    (line, reason) = con.execute("select line_number, reason from raw.quarantine").fetchone()
    assert line == 3 and reason == "event_id 'E1' was already loaded from activity/a.csv line 2; it counts once"
