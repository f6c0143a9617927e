"""Source mappings: validated before any work, naming the entry; applied in SQL, every value still
judged by the contract afterwards."""

import re
from pathlib import Path

import duckdb
import pytest

from leadops.contract import SOURCES
from leadops.loader import load_feeds
from leadops.sources.mapping import BUILT_IN, MappingError, SourceMapping, built_in, load_mapping, presets


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yml"
    path.write_text(text)
    return path


def test_every_preset_loads_and_the_built_in_mapping_is_the_contract_itself():
    assert {"hubspot-export", "fivetran-hubspot", "fivetran-salesforce"} <= set(presets())
    for name in [BUILT_IN, *presets()]:
        assert isinstance(load_mapping(name), SourceMapping)
    assert all(feed.is_identity for feed in built_in().feeds)
    assert [feed.into for feed in built_in().feeds] == list(SOURCES)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("feeds: [{folder: contacts, into: lead}]", "feeds[0] (contacts -> lead).into: 'lead' is not a table"),
        ("feeds: [{folder: ../etc, into: leads}]", "'../etc' is not a folder name"),
        (
            "feeds: [{folder: c, into: leads, columns: {score: S}}]",
            "feeds[0] (c -> leads): score is not a column of leads (lead_id, email, created_at",
        ),
        (
            "feeds: [{folder: c, into: leads, columns: {created_at: {column: D, format: '%Q'}}}]",
            "columns.created_at.format: '%Q' is not a timestamp format",
        ),
        (
            "feeds: [{folder: c, into: leads, columns: {lead_id: {column: A, value: B}}}]",
            "give either column (a CRM column) or value (a constant)",
        ),
        ("feeds: [{folder: c, into: leads}, {folder: c, into: leads}]", "c -> leads is given twice"),
        ("feeds: [{folder: c, into: leads, colums: {}}]", "colums: Extra inputs are not permitted"),
        (
            "feeds: [{folder: c, into: accounts, columns: {custom.tier: T}}]",
            "custom.tier: custom fields are leads' columns",
        ),
        ("feeds: []\nfeeds: []", "duplicate key 'feeds' at line 3"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_entry(tmp_path, body, problem):
    with pytest.raises(MappingError, match=re.escape(problem)):
        load_mapping(write(tmp_path, f"name: mine\n{body}\n"))


def test_a_mapping_that_does_not_exist_lists_the_presets():
    presets_listed = "leadops, fivetran-hubspot, fivetran-salesforce, hubspot-export"
    with pytest.raises(MappingError, match=re.escape(f"no source mapping 'hubspot': name a preset ({presets_listed}")):
        load_mapping("hubspot")


def load(tmp_path: Path, mapping_text: str, folder: str, csv_text: str, into: str = "leads"):
    mapping = load_mapping(write(tmp_path, mapping_text))
    (tmp_path / "landing" / folder).mkdir(parents=True)
    (tmp_path / "landing" / folder / "export.csv").write_text(csv_text)
    con = duckdb.connect()
    report = load_feeds(con, SOURCES[into], tmp_path / "landing", mapping.feeds_into(into))
    return con, report


def test_epoch_milliseconds_offsets_and_labels_are_read_and_an_unreadable_value_is_quarantined(tmp_path):
    mapping = """
name: mine
feeds:
  - folder: people
    into: leads
    columns:
      lead_id: Id
      email: {column: Mail}
      created_at: {column: Created, format: [epoch_ms, "%d.%m.%Y %H:%M%z"]}
      is_unsubscribed: {column: Opted Out, values: {Ja: "true", Nein: "false"}}
      lead_source: {value: partner_list}
"""
    csv_text = (
        "Id,Mail,Created,Opted Out,Tier\n"
        "1,a@x.io,1704877200000,Ja,gold\n"
        "2,b@x.io,10.01.2024 10:00+0100,nein,\n"
        "3,c@x.io,sometime,Ja,silver\n"
    )
    con, report = load(tmp_path, mapping, "people", csv_text)

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert con.execute(
        "select lead_id, created_at::varchar, is_unsubscribed, lead_source from raw.leads order by 1"
    ).fetchall() == [
        ("1", "2024-01-10 09:00:00", True, "partner_list"),
        ("2", "2024-01-10 09:00:00", False, "partner_list"),
    ]
    (reason,) = con.execute("select reason from raw.quarantine").fetchone()
    assert "sometime" in reason
    assert con.execute("select lead_id, attribute, value from raw.lead_attributes").fetchall() == [
        ("1", "tier", "gold")
    ]


def test_a_file_without_a_column_the_mapping_reads_is_rejected_whole_naming_it(tmp_path):
    mapping = "name: mine\nfeeds: [{folder: people, into: leads, columns: {lead_id: Id, created_at: Created}}]\n"
    con, report = load(tmp_path, mapping, "people", "Id,Email,Made\n1,a@x.io,2024-01-10\n")

    (rejected,) = report.with_status("rejected")
    assert rejected.message == (
        f"{tmp_path / 'landing' / 'people' / 'export.csv'}, line 1: the mapping reads 'Created' (for created_at), "
        "which the header does not have (source mapping feed people -> leads)"
    )
    assert con.execute("select count(*) from raw.leads").fetchone() == (0,)


def test_a_second_run_loads_nothing_twice(tmp_path):
    mapping = "name: mine\nfeeds: [{folder: people, into: leads, columns: {lead_id: Id}}]\n"
    con, first = load(tmp_path, mapping, "people", "Id,email,created_at\n1,a@x.io,2024-01-10\n")
    again = load_feeds(con, SOURCES["leads"], tmp_path / "landing", load_mapping(tmp_path / "mapping.yml").feeds)

    assert first.rows_loaded == 1 and [f.status for f in again.files] == ["skipped"]
    assert con.execute("select count(*) from raw.leads").fetchone() == (1,)


def test_the_marketo_example_of_the_docs_maps_activity_types_and_quarantines_the_unknown(tmp_path):
    """docs/examples/marketo.yml, as docs/bring-your-crm.md walks through it."""
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "marketo.yml"
    (tmp_path / "marketo-activities").mkdir()
    (tmp_path / "marketo-activities" / "activities.csv").write_text(
        "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes\n"
        '1001,55,2024-01-10T09:00:00Z,1,,12,/pricing,"{""Browser"": ""Chrome""}"\n'
        "1002,55,2024-01-10T10:05:00+0100,10,777,31,Welcome email,\n"
        "1003,55,2024-01-11T08:00:00Z,46,,,Interesting Moment,\n"
    )
    con = duckdb.connect()
    report = load_feeds(con, SOURCES["activity"], tmp_path, load_mapping(example).feeds_into("activity"))

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert con.execute(
        "select event_id, event_type, occurred_at::varchar, url, campaign_id from raw.activity order by 1"
    ).fetchall() == [
        ("1001", "page_view", "2024-01-10 09:00:00", "/pricing", None),
        ("1002", "email_open", "2024-01-10 09:05:00", "Welcome email", "777"),
    ]
    (reason,) = con.execute("select reason from raw.quarantine").fetchone()
    assert "46" in reason


def test_every_folder_a_preset_reads_is_in_the_lineage_upstream_of_its_tables():
    """Lookup-only folders (engagement_contact, contact_merge_audit) are assets too, upstream of the
    raw tables whose feeds read them, in files mode as in database mode."""
    import dagster as dg

    from leadops.settings import Settings
    from orchestration.definitions import build_definitions

    mapping = load_mapping("fivetran-hubspot")
    for settings in (
        Settings(source="fivetran-hubspot"),
        Settings(source="fivetran-hubspot", source_database="duckdb:///sync.duckdb"),
    ):
        graph = build_definitions(settings).resolve_asset_graph()
        landing = {key.path[1] for key in graph.get_all_asset_keys() if key.path[0] == "landing"}
        assert landing == {*mapping.folders, *mapping.lookup_folders}
        activity = {key.path[1] for key in graph.get(dg.AssetKey(["raw", "activity"])).parent_keys}
        assert {"email_event", "engagement_contact", "contact_merge_audit"} <= activity
