from pathlib import Path

import pandas as pd
import pytest

from leadops.contract import SOURCES
from leadops.loader import load_source

HEADER = "lead_id,email,created_at,job_title\n"


def _drop(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _load(con, landing: Path, source: str = "leads"):
    return load_source(con, SOURCES[source], landing / source)


def test_good_rows_load_and_bad_rows_are_quarantined_with_reasons(con, tmp_path):
    _drop(
        tmp_path / "leads",
        "crm.csv",
        HEADER
        + "L1, Bob@Example.COM ,2026-01-02T10:00:00Z,CEO\n"
        + "L2,bob@,2026-01-02,CTO\n"
        + ",x@y.com,yesterday,CFO\n",
    )
    report = _load(con, tmp_path)
    (file,) = report.files
    assert (file.status, file.rows_read, file.rows_loaded, file.rows_quarantined) == ("loaded", 3, 1, 2)
    assert con.execute("select lead_id, email, _line_number from raw.leads").fetchall() == [
        ("L1", "bob@example.com", 2)
    ]
    reasons = dict(con.execute("select line_number, reason from raw.quarantine order by 1").fetchall())
    assert reasons == {
        3: "email 'bob@' is not an address",
        4: "missing required lead_id; created_at 'yesterday' is not a timestamp",
    }


def test_a_file_missing_a_required_column_is_rejected_whole_and_can_be_dropped_again(con, tmp_path):
    path = _drop(tmp_path / "leads", "crm.csv", "lead_id,email\nL1,a@b.com\n")
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected"
    assert str(path) in file.message and "line 1" in file.message
    assert "missing required column(s) created_at" in file.message
    assert con.execute("select count(*) from raw.leads").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.ingested_files").fetchone()[0] == 0

    path.write_text(HEADER + "L1,a@b.com,2026-01-01,CEO\n")
    (file,) = _load(con, tmp_path).files
    assert (file.status, file.rows_loaded) == ("loaded", 1)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty (0 bytes)"),
        (HEADER.encode(), "header but no rows"),
        (HEADER.encode() + b"L1,a@b.com,2026-01-01,Gesch\xe4ftsf\xfchrer\n", "not utf-8"),
    ],
    ids=["zero-bytes", "header-only", "latin-1"],
)
def test_unreadable_files_are_rejected_with_the_problem(con, tmp_path, content, problem):
    _drop(tmp_path / "leads", "crm.csv", content)
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected"
    assert problem in file.message
    assert con.execute("select count(*) from raw.rejected_files").fetchone()[0] == 1


def test_an_unknown_format_is_rejected(con, tmp_path):
    _drop(tmp_path / "leads", "crm.xlsx", b"PK\x03\x04")
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected" and "unknown format '.xlsx'" in file.message


def test_the_same_file_twice_is_loaded_once(con, tmp_path):
    _drop(tmp_path / "leads", "monday.csv", HEADER + "L1,a@b.com,2026-01-01,CEO\n")
    assert _load(con, tmp_path).rows_loaded == 1
    _drop(tmp_path / "leads", "monday_copy.csv", HEADER + "L1,a@b.com,2026-01-01,CEO\n")
    files = _load(con, tmp_path).files
    assert [f.status for f in files] == ["skipped", "skipped"]
    assert "same content as leads/monday.csv" in files[1].message
    assert con.execute("select count(*) from raw.leads").fetchone()[0] == 1


class RecordingGate:
    """A gate that passes every file and records when the loader readied it and called it."""

    def __init__(self):
        self.calls: list[str] = []

    def prepare(self) -> None:
        self.calls.append("prepare")

    def __call__(self, source, file_name, frame):
        self.calls.append(file_name)
        return []


def test_a_gate_is_readied_once_when_the_first_new_file_is_found_and_not_for_files_loaded_before(con, tmp_path):
    _drop(tmp_path / "leads", "monday.csv", HEADER + "L1,a@b.com,2026-01-01,CEO\n")
    _drop(tmp_path / "leads", "tuesday.csv", HEADER + "L2,c@d.com,2026-01-02,CTO\n")
    gate = RecordingGate()
    load_source(con, SOURCES["leads"], tmp_path / "leads", gate=gate)
    assert gate.calls == ["prepare", "leads/monday.csv", "leads/tuesday.csv"]

    again = RecordingGate()
    load_source(con, SOURCES["leads"], tmp_path / "leads", gate=again)
    assert again.calls == []


def test_the_expectation_gate_warms_great_expectations_up_in_the_background():
    from leadops.validation import _batch_definition, warm_up_in_background

    thread = warm_up_in_background("raw_leads")
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert _batch_definition("raw_leads") is _batch_definition("raw_leads")


def test_columns_in_another_order_with_extras_and_case(con, tmp_path):
    _drop(
        tmp_path / "leads",
        "crm.csv",
        "Created_At,favourite_colour,EMAIL,Lead_ID\n2026-01-01,blue,a@b.com,L9\n",
    )
    assert _load(con, tmp_path).rows_loaded == 1
    assert con.execute("select lead_id, email, created_at::date::varchar from raw.leads").fetchall() == [
        ("L9", "a@b.com", "2026-01-01")
    ]


def test_parquet_activity_with_native_timestamps(con, tmp_path):
    folder = tmp_path / "activity"
    folder.mkdir()
    pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "lead_id": ["L1", "L1"],
            "event_type": ["page_view", "teleport"],
            "occurred_at": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 11:00"]),
        }
    ).to_parquet(folder / "events.parquet")
    report = _load(con, tmp_path, "activity")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    (reason,) = con.execute("select reason from raw.quarantine").fetchone()
    assert reason.startswith("event_type 'teleport' is not one of")


def _events_parquet(folder: Path, name: str, **extra_columns) -> None:
    folder.mkdir(exist_ok=True)
    frame = pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "lead_id": ["L1", "L1", "L1"],
            "event_type": ["page_view", "teleport", "page_view"],
            "occurred_at": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 11:00", "2026-01-03 12:00"]),
        }
    )
    frame.assign(**extra_columns).to_parquet(folder / name)


def test_parquet_rows_keep_their_line_numbers_even_with_a_column_named_like_the_readers(con, tmp_path):
    _events_parquet(tmp_path / "activity", "events.parquet", file_row_number=[7, 7, 7])
    report = _load(con, tmp_path, "activity")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert con.execute("select line_number from raw.quarantine").fetchall() == [(2,)]
    assert con.execute("select _line_number from raw.activity order by 1").fetchall() == [(1,), (3,)]


def test_a_file_with_the_loaders_reserved_column_is_rejected_by_name(con, tmp_path):
    _events_parquet(tmp_path / "activity", "events.parquet", _leadops_row_id=[7, 7, 7])
    (report,) = _load(con, tmp_path, "activity").files
    assert report.status == "rejected"
    assert "the column _leadops_row_id is reserved by leadops" in report.message
    assert con.execute("select count(*) from raw.activity").fetchone() == (0,)


@pytest.mark.parametrize("content", [b"not parquet at all" * 10, b"PAR1" + b"\0" * 64])
def test_a_corrupt_parquet_file_is_rejected_with_its_name_and_nothing_loads(con, tmp_path, content):
    _drop(tmp_path / "activity", "broken.parquet", content)
    (report,) = _load(con, tmp_path, "activity").files
    assert report.status == "rejected"
    assert report.message.startswith(str(tmp_path / "activity" / "broken.parquet"))
    assert con.execute("select count(*) from raw.activity").fetchone() == (0,)


def test_numbers_and_booleans_are_checked(con, tmp_path):
    _drop(
        tmp_path / "accounts",
        "a.csv",
        "company_domain,employees,annual_revenue,is_customer\n"
        "ok.com,10,1e6,yes\nneg.com,-5,1,no\ntext.com,many,1,maybe\n",
    )
    report = _load(con, tmp_path, "accounts")
    assert report.rows_loaded == 1
    reasons = [r for (r,) in con.execute("select reason from raw.quarantine order by line_number").fetchall()]
    assert reasons == [
        "employees '-5' is negative",
        "employees 'many' is not a whole number; is_customer 'maybe' is not true/false",
    ]


def test_a_file_still_being_written_is_left_for_a_later_run(con, tmp_path):
    """A producer appends to the file while it is read (here, while the gate judges it): nothing of it
    is kept, it is neither loaded nor rejected, and the next run loads the whole file."""
    path = _drop(tmp_path / "leads", "crm.csv", HEADER + "L1,a@b.com,2026-01-02,CEO\n")

    def still_writing(source, name, frame):
        with path.open("a") as handle:
            handle.write("L2,c@d.com,2026-01-03,CTO\n")
        return []

    (file,) = load_source(con, SOURCES["leads"], tmp_path / "leads", gate=still_writing).files
    assert file.status == "skipped" and "changed while it was read" in file.message
    assert con.execute("select count(*) from raw.leads").fetchone() == (0,)
    assert con.execute("select count(*) from raw.ingested_files").fetchone() == (0,)
    assert con.execute("select count(*) from raw.rejected_files").fetchone() == (0,)

    (file,) = _load(con, tmp_path).files
    assert (file.status, file.rows_loaded) == ("loaded", 2)


def test_a_half_written_parquet_file_is_not_rejected_while_it_changes(con, tmp_path, monkeypatch):
    """A Parquet file cut short has no footer yet: unreadable because unfinished, not bad."""
    import leadops.loader as loader

    _drop(tmp_path / "leads", "crm.parquet", b"PAR1 half of a file")
    states = iter([(19, 1), (4096, 2)])  # the size and time before reading it, then after
    monkeypatch.setattr(loader, "file_state", lambda path: next(states))

    (file,) = _load(con, tmp_path).files
    assert file.status == "skipped" and "changed while it was read" in file.message
    assert con.execute("select count(*) from raw.rejected_files").fetchone() == (0,)


def test_a_row_is_numbered_by_the_line_it_starts_on_when_quoted_values_span_lines(con, tmp_path):
    """CRM exports carry notes and addresses over several lines: a reason must point at the line an
    editor shows, not at the record's position."""
    _drop(
        tmp_path / "leads",
        "crm.csv",
        HEADER
        + 'L1,a@b.com,2026-01-02,"Head of\nSales"\n'  # lines 2-3
        + "L2,bob@,2026-01-02,CTO\n"  # line 4
        + 'L3,c@d.com,2026-01-02,"VP\r\nMarketing\nEMEA"\n'  # lines 5-7
        + "L4,eve@,2026-01-02,CFO\n",  # line 8
    )
    (file,) = _load(con, tmp_path).files
    assert (file.status, file.rows_loaded, file.rows_quarantined) == ("loaded", 2, 2)
    assert con.execute("select lead_id, _line_number from raw.leads order by 1").fetchall() == [("L1", 2), ("L3", 5)]
    assert con.execute("select line_number from raw.quarantine order by 1").fetchall() == [(4,), (8,)]
