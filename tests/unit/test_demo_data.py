import re
from datetime import date
from pathlib import Path

import duckdb

from leadops.contract import SOURCES
from leadops.demo_data import CUSTOM_FIELDS, generate


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_a_different_seed_differs(tmp_path):
    first = generate(tmp_path / "a", leads=300, seed=11, end_date=date(2026, 6, 30))
    generate(tmp_path / "b", leads=300, seed=11, end_date=date(2026, 6, 30))
    generate(tmp_path / "c", leads=300, seed=12, end_date=date(2026, 6, 30))
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
    assert first.leads == 300 and first.events > 300 * 20


def test_files_honour_the_contract_and_the_story(tmp_path):
    generate(tmp_path, leads=2000, seed=5, end_date=date(2026, 6, 30))
    con = duckdb.connect()
    for source in SOURCES.values():
        if source.name == "attribute_history":  # optional: the demo CRM keeps no history of its fields
            assert not (tmp_path / source.name).exists()
            continue
        (pattern,) = {f"{tmp_path}/{source.name}/*{p.suffix}" for p in (tmp_path / source.name).iterdir()}
        columns = set(con.execute(f"select * from '{pattern}' limit 0").fetchdf().columns)
        custom = set(CUSTOM_FIELDS) if source.name == "leads" else set()  # CRM custom fields ride along
        assert set(source.required) <= columns <= set(source.column_names) | custom
    leads = str(tmp_path / "leads" / "*.csv")
    events = str(tmp_path / "activity" / "*.parquet")
    accounts = str(tmp_path / "accounts" / "*.csv")
    personal, junk = con.execute(
        f"select count_if(email like '%@gmail.com' or email like '%@yahoo.com'), count_if(first_name = 'Test') "
        f"from '{leads}'"
    ).fetchone()
    assert personal > 50 and junk > 10
    assert con.execute(f"select count(*) from '{accounts}' where company_domain = 'rivalscore.io'").fetchone()[0] == 1
    latest = con.execute(f"select max(occurred_at)::date from '{events}'").fetchone()[0]
    assert latest <= date(2026, 6, 30)
    types = {t for (t,) in con.execute(f"select distinct event_type from '{events}'").fetchall()}
    assert {"demo_request", "webinar_registration", "newsletter_subscribe", "unsubscribe"} <= types


def test_converters_were_more_active(tmp_path):
    generate(tmp_path, leads=3000, seed=9, end_date=date(2026, 6, 30))
    con = duckdb.connect()
    won, others = con.execute(
        f"""
        with won as (select distinct lead_id from '{tmp_path}/conversions/*.csv' where stage = 'closed_won'),
        activity as (select lead_id, count(*) as events from '{tmp_path}/activity/*.parquet' group by 1)
        select avg(events) filter (where won.lead_id is not null), avg(events) filter (where won.lead_id is null)
        from activity left join won using (lead_id)
        """
    ).fetchone()
    assert won > 1.3 * others


def test_progress_is_told_each_file_once_it_is_written(tmp_path, monkeypatch):
    import leadops.demo_data as demo_data

    monkeypatch.setattr(demo_data, "LEADS_PER_CHUNK", 200)  # three chunks of activity
    told = []
    summary = generate(
        tmp_path, leads=500, seed=3, end_date=date(2026, 6, 30), progress=lambda *call: told.append(call)
    )
    assert (
        [path for path, _ in told]
        == demo_data.planned_files(500)
        == [
            "accounts/accounts.csv",
            "leads/leads.csv",
            "activity/events_0000.parquet",
            "activity/events_0001.parquet",
            "activity/events_0002.parquet",
            "conversions/conversions.csv",
        ]
    )
    rows = dict(told)
    assert (rows["accounts/accounts.csv"], rows["leads/leads.csv"]) == (summary.accounts, 500)
    assert sum(n for path, n in told if path.startswith("activity/")) == summary.events
    assert rows["conversions/conversions.csv"] == summary.conversions


def test_leadops_demo_data_writes_a_line_per_file_on_stderr_and_its_summary_on_stdout(tmp_path, capsys):
    from cli.main import main

    assert (
        main(["demo-data", "--out", str(tmp_path), "--leads", "300", "--seed", "11", "--end-date", "2026-06-30"]) == 0
    )
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert [line.split(" in ")[0] for line in lines] == [
        "wrote accounts/accounts.csv",
        "wrote leads/leads.csv",
        "wrote activity/events_0000.parquet",
        "wrote conversions/conversions.csv",
    ]
    assert all(re.fullmatch(r"wrote \S+ in \d+\.\d s, [\d,]+ rows", line) for line in lines)
    accounts, leads, events, conversions = (int(line.rsplit(", ", 1)[1].split()[0].replace(",", "")) for line in lines)
    assert captured.out == (  # unchanged, and the same counts
        f"wrote {accounts} accounts, {leads} leads, {events} events and {conversions} conversions to {tmp_path}\n"
    )


def test_no_module_of_the_demo_data_is_over_500_lines():
    import leadops.demo_data as demo_data

    package = hasattr(demo_data, "__path__")
    modules = sorted(Path(demo_data.__file__).parent.glob("*.py")) if package else [Path(demo_data.__file__)]
    assert {m.name: len(m.read_text().splitlines()) for m in modules if len(m.read_text().splitlines()) > 500} == {}
