"""A source mapping's skips, lookups, merged ids, optional and alternative columns and domains:
each refused before any work when it is written wrong, naming the entry, and, applied, every row of
a file loaded, quarantined with a reason naming the lookup, or skipped with its reason counted."""

import re
from pathlib import Path

import duckdb
import pytest

from leadops.contract import SOURCES
from leadops.loader import load_feeds
from leadops.sources.mapping import MappingError, load_mapping

PEOPLE = "{folder: people, into: leads, columns: {lead_id: id, email: mail, created_at: made}}"


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yml"
    path.write_text(f"name: mine\n{text}\n")
    return path


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "feeds: [{folder: c, into: leads, skip_when: {column: gone, reason: deleted}}]",
            "feeds[0] (c -> leads).skip_when[0]: give either values (skip these) or other_than",
        ),
        (
            "feeds: [{folder: c, into: leads, skip_when: {column: a, values: [x], other_than: [y], reason: r}}]",
            "give either values (skip these) or other_than (skip all but these)",
        ),
        ("feeds: [{folder: c, into: leads, skip_when: {column: a, values: [], reason: r}}]", "list at least one value"),
        (
            "feeds: [{folder: c, into: leads, skip_when: {column: a, values: [x]}}]",
            "skip_when[0].reason: Field required",
        ),
        (
            "feeds: [{folder: c, into: activity, columns: {lead_id: {column: a, lookup: {folder: ../x, match: m, "
            "take: t}}}}]",
            "columns.lead_id.lookup[0].folder: '../x' is not a folder name",
        ),
        (
            "feeds: [{folder: c, into: activity, columns: {lead_id: {column: a, lookup: {folder: x, match: m}}}}]",
            "columns.lead_id.lookup[0].take: Field required",
        ),
        (
            "feeds: [{folder: c, into: activity, columns: {lead_id: {column: a, lookup: "
            "[{folder: x, match: m, take: t}, {folder: x, match: m, take: t}, {folder: x, match: m, take: t}, "
            "{folder: x, match: m, take: t}]}}}]",
            "columns.lead_id.lookup: List should have at most 3 items",
        ),
        (
            "feeds: [{folder: c, into: activity, columns: {lead_id: {value: a, lookup: {folder: x, match: m, "
            "take: t}}}}]",
            "a constant value takes no format, values, lookup, optional, as or prefix",
        ),
        (
            "feeds: [{folder: c, into: accounts, columns: {company_domain: {column: w, as: url}}}]",
            "Input should be 'domain'",
        ),
        ("feeds: [{folder: c, into: leads, columns: {lead_id: {column: []}}}]", "List should have at least 1 item"),
        (
            "merged_ids: [{folder: merges, id: old}]\nfeeds: [{folder: c, into: leads}]",
            "merged_ids[0].merged_into: Field required",
        ),
        (
            "merged_ids: [{folder: m, id: a, merged_into: b, split: ';;;;;;'}]\nfeeds: [{folder: c, into: leads}]",
            "merged_ids[0].split: String should have at most 5 characters",
        ),
        (
            "feeds: [{folder: c, into: leads, merged_ids: [{folder: m, id: a, merged_into: b}]}]",
            "feeds[0]: merged_ids is the mapping's, given once at the top for every feed",
        ),
    ],
)
def test_a_bad_key_is_refused_naming_the_entry(tmp_path, body, problem):
    with pytest.raises(MappingError, match=re.escape(problem)):
        load_mapping(mapping_file(tmp_path, body))


def landing_with(tmp_path: Path, files: dict[str, str]) -> Path:
    landing = tmp_path / "landing"
    for name, text in files.items():
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text(text)
    return landing


def load(tmp_path: Path, mapping_text: str, into: str, landing: Path):
    con = duckdb.connect()
    feeds = load_mapping(mapping_file(tmp_path, mapping_text)).feeds_into(into)
    return con, load_feeds(con, SOURCES[into], landing, feeds)


def test_skipped_rows_are_counted_by_reason_and_a_file_they_all_leave_is_loaded_empty(tmp_path):
    mapping = """
feeds:
  - folder: people
    into: leads
    skip_when:
      - {column: 'De"leted', values: ["TRUE", "it's gone"], reason: deleted in the CRM}
      - {column: kind, other_than: [person], reason: not a person}
      - {column: _fivetran_active, values: ["false"], reason: an old version, optional: true}
    columns: {lead_id: id, email: mail, created_at: made}
"""
    landing = landing_with(
        tmp_path,
        {
            "people/a.csv": (
                'id,mail,made,"De""leted",kind\n'
                "1,a@x.io,2024-01-10,false,person\n"
                "2,b@x.io,2024-01-10,true,person\n"
                "3,c@x.io,2024-01-10,it's gone,person\n"
                "4,d@x.io,2024-01-10,,robot\n"
                "5,e@x.io,2024-01-10,,\n"
            ),
            "people/b.csv": 'id,mail,made,"De""leted",kind\n6,f@x.io,2024-01-10, True ,person\n',
        },
    )
    con, report = load(tmp_path, mapping, "leads", landing)

    first, second = report.files
    assert (first.rows_read, first.rows_loaded) == (1, 1)
    assert "2 of 5 row(s) skipped: deleted in the CRM" in first.notes
    assert "2 of 5 row(s) skipped: not a person" in first.notes
    assert (second.status, second.rows_read, second.notes[0]) == (
        "loaded",
        0,
        "1 of 1 row(s) skipped: deleted in the CRM",
    )
    again = load_feeds(con, SOURCES["leads"], landing, load_mapping(tmp_path / "mapping.yml").feeds)
    assert [f.status for f in again.files] == ["skipped", "skipped"]


def test_a_skip_on_a_column_the_file_lacks_rejects_it_unless_the_skip_is_optional(tmp_path):
    mapping = f"feeds: [{PEOPLE[:-1]}, skip_when: {{column: gone, values: [x], reason: r}}}}]"
    landing = landing_with(tmp_path, {"people/a.csv": "id,mail,made\n1,a@x.io,2024-01-10\n"})
    _, report = load(tmp_path, mapping, "leads", landing)
    assert "the mapping reads 'gone' (for skip_when), which the header does not have" in report.files[0].message


EVENTS = """
feeds:
  - folder: calls
    into: activity
    columns:
      event_id: call_id
      lead_id: {column: call_id, lookup: {folder: call_people, match: call, take: person}}
      event_type: {value: email_open}
      occurred_at: at
      campaign_id: {column: call_id, lookup: {folder: campaigns, match: call, take: campaign}}
  - folder: mails
    into: activity
    columns:
      event_id: id
      lead_id:
        column: event
        lookup:
          - {folder: deliveries, match: id, take: recipient}
          - {folder: people, match: "e-mail", take: id, ignore_case: true}
      event_type: {value: email_delivered}
      occurred_at: at
"""


def test_a_lookup_finds_its_value_in_every_file_of_the_folder_or_names_itself_in_the_reason(tmp_path):
    landing = landing_with(
        tmp_path,
        {
            "calls/c.csv": "call_id,at\n10,2024-02-01\n11,2024-02-01\n12,2024-02-01\n13,2024-02-01\n",
            "call_people/older.csv": "call,person\n10,7\n",
            "call_people/newer.csv": "call,person\n11,9\n11,8\n13,\n",
            "campaigns/none.txt": "",
            "mails/m.csv": "id,event,at\nm1,e1,2024-02-02\nm2,e2,2024-02-02\nm3,e3,2024-02-02\n",
            "deliveries/d.csv": "id,recipient\ne1, Ann@X.io \ne2,bob@x.io\n",
            "people/p.csv": "id,e-mail\n1,ann@x.io\n",
        },
    )
    with duckdb.connect() as writer:  # not the module's shared connection, which other tests leave busy
        writer.execute(
            "copy (select 'e3' as id, 'nobody@x.io' as recipient) to '" + str(landing / "deliveries/d.parquet") + "'"
        )
    con, report = load(tmp_path, EVENTS, "activity", landing)

    assert con.execute("select event_id, lead_id from raw.activity order by 1").fetchall() == [
        ("10", "7"),  # from the older file of the folder
        ("11", "8"),  # two people for one call: the lowest
        ("m1", "1"),  # recipient to person, trimmed and without case
    ]
    assert con.execute("select line_number, reason from raw.quarantine order by file_name, line_number").fetchall() == [
        (4, "missing required lead_id: no call_people row has call '12'"),
        (5, "missing required lead_id: no call_people row has call '13'"),  # its row has no person
        (3, "missing required lead_id: no people row has e-mail 'bob@x.io'"),
        (4, "missing required lead_id: no people row has e-mail 'nobody@x.io'"),  # found in the Parquet file
    ]
    calls = report.files[0]
    assert "1 row(s) matched several call_people rows: lead_id is the lowest person" in calls.notes
    assert "campaigns/ has no files: campaign_id is empty" in calls.notes


def test_a_file_whose_lookup_folder_has_no_files_loads_on_a_later_run_once_it_has(tmp_path):
    landing = landing_with(tmp_path, {"calls/c.csv": "call_id,at\n10,2024-02-01\n"})
    con, report = load(tmp_path, EVENTS, "activity", landing)
    assert report.files[0].status == "rejected"
    assert "lead_id is looked up in call_people/, which has no files yet: the file loads on a later run" in (
        report.files[0].message
    )

    landing_with(tmp_path, {"call_people/p.csv": "call,person\n10,7\n"})
    later = load_feeds(con, SOURCES["activity"], landing, load_mapping(tmp_path / "mapping.yml").feeds)
    assert [f.status for f in later.files] == ["loaded"]
    assert con.execute("select lead_id from raw.activity").fetchall() == [("7",)]


def test_a_lookup_folder_without_the_column_it_matches_rejects_the_file_naming_it(tmp_path):
    landing = landing_with(
        tmp_path, {"calls/c.csv": "call_id,at\n10,2024-02-01\n", "call_people/p.csv": "call_id,person\n10,7\n"}
    )
    _, report = load(tmp_path, EVENTS, "activity", landing)
    assert "the lookup of lead_id reads 'call' in call_people/, whose files do not have it" in report.files[0].message


MERGED = """
merged_ids:
  - {folder: merges, id: old, merged_into: new}
  - {folder: people, id: merged_ids, split: ";", merged_into: id}
feeds:
  - {folder: people, into: leads, columns: {lead_id: id, email: mail, created_at: made}}
  - folder: visits
    into: activity
    columns: {event_id: id, lead_id: person, event_type: {value: page_view}, occurred_at: at}
"""


def test_merged_records_are_one_lead_whose_activity_is_the_union(tmp_path):
    """5 was merged into 2 (the audit), 2 into 1 and 4 into 1 (1's list): all of them are lead 1."""
    landing = landing_with(
        tmp_path,
        {
            "people/p.csv": (
                "id,mail,made,merged_ids\n"
                "1,a@x.io,2024-01-10,2;4\n"
                "2,b@x.io,2024-01-09,\n"
                "3,c@x.io,2024-01-09,\n"
                "4,d@x.io,2024-01-09,\n"
            ),
            "merges/m.csv": "old,new\n5,2\n",
            "visits/v.csv": "id,person,at\nv1,1,2024-02-01\nv2,2,2024-02-01\nv3,5,2024-02-01\nv4,3,2024-02-01\n",
        },
    )
    con, leads = load(tmp_path, MERGED, "leads", landing)
    feeds = load_mapping(tmp_path / "mapping.yml").feeds_into("activity")
    activity = load_feeds(con, SOURCES["activity"], landing, feeds)

    assert con.execute("select lead_id from raw.leads order by 1").fetchall() == [("1",), ("3",)]
    assert "2 of 4 row(s) skipped: merged into another record (merged_ids), which is the lead" in leads.files[0].notes
    assert con.execute("select event_id, lead_id from raw.activity order by 1").fetchall() == [
        ("v1", "1"),
        ("v2", "1"),
        ("v3", "1"),
        ("v4", "3"),
    ]
    assert "2 row(s) name a merged record: counted for the one it was merged into" in activity.files[0].notes


def test_a_merged_ids_folder_without_its_columns_merges_nothing_and_says_so(tmp_path):
    landing = landing_with(
        tmp_path, {"people/p.csv": "id,mail,made\n1,a@x.io,2024-01-10\n", "merges/m.csv": "old,new\n5,1\n"}
    )
    _, report = load(tmp_path, MERGED, "leads", landing)
    assert report.files[0].rows_loaded == 1
    assert any("no merged ids from people/" in note and "'merged_ids'" in note for note in report.files[0].notes)


def test_optional_and_alternative_columns_and_domains(tmp_path):
    mapping = """
feeds:
  - folder: firms
    into: accounts
    columns:
      company_domain: {column: website, as: domain}
      company_name: {column: [legal_name, name]}
      industry: {column: sector, optional: true}
"""
    landing = landing_with(
        tmp_path,
        {
            "firms/f.csv": (
                "website,name\n"
                "https://www.Acme.com/about,Acme\n"
                "sales@initech.io,Initech\n"
                "globex.com:8080/?q=1,Globex\n"
                "localhost,Nowhere\n"
            )
        },
    )
    con, report = load(tmp_path, mapping, "accounts", landing)
    assert con.execute("select company_domain, company_name from raw.accounts order by 1").fetchall() == [
        ("acme.com", "Acme"),
        ("globex.com", "Globex"),
        ("initech.io", "Initech"),
        ("localhost", "Nowhere"),  # no domain in it: as it was, for the contract to judge
    ]
    assert "the file has no 'sector': industry is empty" in report.files[0].notes


def test_typed_parquet_ids_look_up_and_merge_as_text(tmp_path):
    """A database reader's Parquet files keep the sync's types: an id may be an integer."""
    landing = landing_with(tmp_path, {"people/p.csv": "id,mail,made,merged_ids\n1,a@x.io,2024-01-10,2\n"})
    (landing / "visits").mkdir()
    visits = landing / "visits" / "v.parquet"
    with duckdb.connect() as writer:
        writer.execute(f"copy (select 7 as id, 2::bigint as person, timestamp '2024-02-01' as at) to '{visits}'")
    con, report = load(tmp_path, MERGED, "activity", landing)
    assert report.files[0].status == "loaded"
    assert con.execute("select event_id, lead_id, occurred_at::varchar from raw.activity").fetchall() == [
        ("7", "1", "2024-02-01 00:00:00")
    ]
