"""A landing file's header as a CRM writes it: labels for people, ragged rows, huge headers, typed Parquet."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from leadops.contract import SOURCES
from leadops.headers import MAX_COLUMNS, normalised_name, plan_columns
from leadops.loader import load_source
from orchestration.run_report import _print_ingest


def _drop(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _load(con, landing: Path, source: str = "leads"):
    return load_source(con, SOURCES[source], landing / source)


@pytest.mark.parametrize(
    ("label", "name"),
    [
        (" Lead ID ", "lead_id"),
        ("First Name", "first_name"),
        ("Country/Region", "country_region"),
        ("E-mail", "e_mail"),
    ],
)
def test_a_label_normalises_by_case_spaces_and_punctuation(label, name):
    assert normalised_name(label) == name


def test_labels_with_spaces_and_capitals_are_the_contract_columns_they_spell(con, tmp_path):
    _drop(
        tmp_path / "leads",
        "x.csv",
        "Lead ID,Email,Created At,First Name,Job Title,Lead Source\nX1,a@b.co,2026-11-01,Ann,CEO,web\n",
    )
    (file,) = _load(con, tmp_path).files
    assert (file.status, file.rows_loaded) == ("loaded", 1)
    assert con.execute("select lead_id, first_name, job_title, lead_source from raw.leads").fetchall() == [
        ("X1", "Ann", "CEO", "web")
    ]
    assert "header 'First Name' read as first_name" in file.notes
    assert "header 'Lead ID' read as lead_id" in file.notes


def test_every_other_column_is_kept_as_a_custom_field_and_said_so(con, tmp_path):
    _drop(
        tmp_path / "leads",
        "x.csv",
        "lead_id,email,created_at,Budget Band,budget band,\nX1,a@b.co,2026-11-01,big,small,note\n",
    )
    (file,) = _load(con, tmp_path).files
    kept = con.execute("select attribute, value from raw.lead_attributes order by 1").fetchall()
    assert kept == [("budget_band", "big"), ("budget_band_2", "small"), ("column_6", "note")]
    assert "3 column(s) kept as custom fields: budget_band ('Budget Band'), budget_band_2, column_6" in file.notes


def test_the_run_output_prints_how_each_header_was_read(capsys):
    counts = ("files_loaded", "files_skipped", "files_rejected", "rows_read", "rows_loaded", "rows_quarantined")
    report = {"file": "leads/x.csv", "quarantined": 0, "warnings": [], "notes": ["header 'A B' read as a_b"]}
    materialization = dg.AssetMaterialization(
        asset_key=["raw", "leads"],
        metadata={**dict.fromkeys(counts, 0), "file_reports": dg.MetadataValue.json([report])},
    )
    _print_ingest(materialization)
    assert "  leads/x.csv: header 'A B' read as a_b" in capsys.readouterr().out.splitlines()


def test_two_labels_for_one_contract_column_reject_the_file_by_position(con, tmp_path):
    _drop(tmp_path / "leads", "x.csv", "lead_id,email,created_at,E Mail,Email\nX1,a@b.co,2026-11-01,x,b@b.co\n")
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected"
    assert file.message.endswith("x.csv, line 1: columns 2 ('email') and 5 ('Email') both read as email")
    assert con.execute("select count(*) from raw.leads").fetchone()[0] == 0


def test_a_byte_order_mark_and_semicolons_as_a_spreadsheet_writes_them(con, tmp_path):
    _drop(tmp_path / "leads", "x.csv", b"\xef\xbb\xbfLead ID;Email;Created At\r\nX4;a@b.co;2026-11-01\r\n")
    (file,) = _load(con, tmp_path).files
    assert (file.status, file.rows_loaded) == ("loaded", 1)
    assert con.execute("select lead_id, email from raw.leads").fetchall() == [("X4", "a@b.co")]


@pytest.mark.parametrize(
    ("row", "problem"),
    [("X2,b@b.co,2026-11-01", "has 3 field(s) where the header has 4"), ("X2,b@b.co,2026,CEO,x", "has 5 field(s)")],
    ids=["short", "long"],
)
def test_a_ragged_row_is_reported_by_its_line_and_its_field_count(con, tmp_path, row, problem):
    _drop(
        tmp_path / "leads",
        "x.csv",
        f"lead_id,email,created_at,job_title\nX1,a@b.co,2026-11-01,CEO\n{row}\nX3,c@b.co,2026-11-01,CFO\n",
    )
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected"
    assert "x.csv, line 3: the line " + problem in file.message
    assert con.execute("select line_number from raw.rejected_files").fetchall() == [(3,)]


def test_an_over_long_line_is_reported_where_it_is_with_its_size(con, tmp_path):
    _drop(
        tmp_path / "leads",
        "x.csv",
        "lead_id,email,created_at\nX1,a@b.co,2026-11-01\nX2,b@b.co," + "x" * 3_000_000 + "\nX3,c@b.co,2026-11-01\n",
    )
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected"
    assert "x.csv, line 3: the line is 3,000,010 bytes long (at most 2,000,000)" in file.message


def test_a_header_of_too_many_columns_is_refused_before_it_is_read(con, tmp_path):
    columns = 200_000
    header = ",".join(["lead_id", "email", "created_at", *(f"c{i}" for i in range(columns))])
    _drop(tmp_path / "leads", "wide.csv", header + "\n" + ",".join(["A", "a@b.co", "2026-01-01"] + ["x"] * columns))
    (file,) = _load(con, tmp_path).files
    assert file.status == "rejected"
    assert f"line 1: the header has {columns + 3:,} columns; at most {MAX_COLUMNS:,}" in file.message


def test_a_typed_parquet_file_says_what_it_converted_per_column(con, tmp_path):
    folder = tmp_path / "activity"
    folder.mkdir()
    pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "lead_id": [12, 13],
            "event_type": ["page_view", "page_view"],
            "occurred_at": ["2026-01-01 10:00", "not a time"],
            "Extra Col": [1, 2],
        }
    ).to_parquet(folder / "a.parquet")
    (file,) = _load(con, tmp_path, "activity").files
    assert (file.rows_loaded, file.rows_quarantined) == (1, 1)
    assert file.notes == [
        "lead_id is BIGINT in the file, converted to VARCHAR",
        "occurred_at is VARCHAR in the file, converted to TIMESTAMP (a value that does not convert is quarantined)",
        "1 column(s) not in the activity contract, not loaded: extra_col ('Extra Col')",
    ]


def test_a_custom_field_that_repeats_a_key_gets_the_next_free_suffix():
    plan = plan_columns(["lead_id", "Notes", "notes", "notes_2"], SOURCES["leads"].column_names)
    assert [key for key, _ in plan] == ["lead_id", "notes", "notes_2", "notes_2_2"]
