"""A day in operations: a baseline night, then a day whose new activity makes a lead hot and brings a
bad file; alerts go out once, and `leadops status` tells the story from the warehouse alone."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from leadops.demo_data import generate

DAY_1, DAY_2 = "2026-06-29", "2026-06-30"
pytestmark = pytest.mark.integration
HOLD_THE_WAREHOUSE = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(60)"
)


def run(landing: Path, warehouse: Path, as_of: str) -> int:
    return main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", as_of, "--quiet"])


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """Runs the two days and returns (warehouse, alerts file lines after each run, status output and code)."""
    root = tmp_path_factory.mktemp("operations")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate(landing, leads=300, seed=11, end_date=date.fromisoformat(DAY_1))
    (landing / "accounts" / "ideal.csv").write_text(
        "company_domain,company_name,industry,employees,annual_revenue,country,is_customer\n"
        "idealco.com,IdealCo,Software,1200,250000000,US,false\n"
    )
    (landing / "leads" / "ideal.csv").write_text(
        "lead_id,email,created_at,first_name,last_name,job_title,company_domain,country\n"
        "P-HOT,ceo@idealco.com,2026-03-01T09:00:00Z,Ida,Deal,Founder & CEO,idealco.com,US\n"
    )
    alerts = warehouse.parent / "alerts" / "alerts.jsonl"
    lines = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        monkeypatch.delenv("LEADOPS_ALERT_WEBHOOK_URL", raising=False)
        assert run(landing, warehouse, DAY_1) == 0
        lines.append(alerts.read_text().splitlines() if alerts.exists() else [])

        (landing / "activity" / "today.csv").write_text(
            "event_id,lead_id,event_type,occurred_at,url\n"
            "T-1,P-HOT,demo_request,2026-06-30T10:00:00Z,/demo\n"
            "T-2,P-HOT,page_view,2026-06-30T10:01:00Z,/pricing\n"
            "T-3,P-HOT,form_submission,2026-06-30T10:02:00Z,/contact\n"
        )
        (landing / "leads" / "broken.csv").write_text("lead_id,created_at\nX1,2026-06-30\n")
        assert run(landing, warehouse, DAY_2) == 1  # the rejected file is a problem of the run
        lines.append(alerts.read_text().splitlines())
        assert run(landing, warehouse, DAY_2) == 1  # the same day again: nothing new to announce
        lines.append(alerts.read_text().splitlines())

    return warehouse, lines


def test_the_first_night_is_a_baseline_without_alerts(day):
    _, lines = day
    assert lines[0] == []


def test_a_lead_turning_hot_is_announced_once(day):
    warehouse, lines = day
    announced = [json.loads(line) for line in lines[1]]
    assert ("P-HOT", "hot") in {(a["lead_id"], a["segment"]) for a in announced}
    assert all(a["as_of_date"] == DAY_2 for a in announced)
    assert lines[2] == lines[1]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (pending,) = con.execute("select count(*) from ops.alerts where notified_at is null").fetchone()
        (alerted,) = con.execute("select count(*) from ops.alerts").fetchone()
    assert pending == 0 and alerted == len(announced)


def test_status_tells_the_last_run_from_the_warehouse_alone(day, capsys):
    warehouse, _ = day
    capsys.readouterr()
    code = main(["status", "--warehouse", str(warehouse)])
    out = capsys.readouterr().out

    assert code == 1  # the last run rejected a file
    assert f"as of {DAY_2}: SUCCESS" in out
    (rejected,) = [line.strip() for line in out.splitlines() if "broken.csv" in line]
    assert (
        rejected.startswith(f"{warehouse.parent / 'landing' / 'leads' / 'broken.csv'}, line ") and "email" in rejected
    )
    assert "ERROR raw/leads:files_accepted" in out
    lead_scores = next(line for line in out.splitlines() if line.strip().startswith("marts.lead_scores "))
    assert lead_scores.split()[1] == "301"  # 300 demo leads and the planted one
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*), count_if(status = 'success') from ops.runs").fetchone() == (3, 3)


def test_status_reads_the_published_copy_while_a_refresh_holds_the_warehouse(day, capsys):
    warehouse, _ = day
    holder = subprocess.Popen(  # another process writing, as during a refresh
        [sys.executable, "-c", HOLD_THE_WAREHOUSE, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        capsys.readouterr()
        main(["status", "--warehouse", str(warehouse)])
        out = capsys.readouterr().out
        # The other readers fall back the same way instead of failing with DuckDB's lock error.
        assert main(["segments", "--warehouse", str(warehouse)]) == 0
        segments = capsys.readouterr()
        assert main(["explain", "P-HOT", "--warehouse", str(warehouse)]) == 0
        explained = capsys.readouterr()
    finally:
        holder.kill()
        holder.wait()
    assert "locked by a running refresh" in out
    assert "last run" in out  # the run log as of the last publication
    assert "locked by a running refresh" in segments.err and "hot_leads" in segments.out
    assert "locked by a running refresh" in explained.err and "P-HOT" in explained.out
