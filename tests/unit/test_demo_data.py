from datetime import date

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
