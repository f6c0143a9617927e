"""Readers of the published copy are never blocked and never see half a refresh."""

import json
import subprocess
import sys
import time
from datetime import date

import pytest

from cli.main import main
from leadops.demo_data import generate

pytestmark = pytest.mark.integration

READER = """
import json, sys, time
import duckdb
published, stop, out = sys.argv[1:4]
answers, errors = [], []
while True:
    stopping = __import__("os").path.exists(stop)
    try:
        with duckdb.connect(published, read_only=True) as con:
            answers.append(con.execute(
                "select (select count(*) from marts.segment_members where list_type = 'lifecycle'), "
                "(select count(*) from marts.lead_scores), (select max(as_of_date)::varchar from marts.lead_scores)"
            ).fetchone())
    except Exception as error:
        errors.append(repr(error))
    if stopping:
        break
    time.sleep(0.05)
json.dump({"answers": answers, "errors": errors}, open(out, "w"))
"""


def test_a_reader_querying_during_a_refresh_sees_one_complete_version_every_time(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    generate(landing, leads=800, seed=2, end_date=date(2026, 6, 30))
    args = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--quiet"]
    assert main([*args, "--as-of", "2026-06-29"]) == 0

    stop, out = tmp_path / "stop", tmp_path / "answers.json"
    published = tmp_path / "published" / "leadops.duckdb"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop), str(out)])
    try:
        time.sleep(1)
        (landing / "leads" / "late.csv").write_text("lead_id,email,created_at\nLATE1,late@acme.com,2026-06-30\n")
        assert main([*args, "--as-of", "2026-06-30"]) == 0
        time.sleep(1)
    finally:
        stop.write_text("")
        reader.wait(timeout=60)

    result = json.loads(out.read_text())
    assert result["errors"] == []
    answers = result["answers"]
    assert len(answers) > 20
    assert all(segmented == scored for segmented, scored, _ in answers)
    versions = {(as_of, scored) for _, scored, as_of in answers}
    assert {as_of for as_of, _ in versions} == {"2026-06-29", "2026-06-30"}
    assert len(versions) == 2  # each version is whole: one lead count per as_of
