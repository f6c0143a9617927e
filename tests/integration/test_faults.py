"""Faults an operator meets: a second refresh while one runs, a refresh killed with SIGKILL in its dbt
step. Real `leadops run` processes on a real warehouse; the killed one is killed, not simulated."""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from leadops.demo_data import generate

pytestmark = pytest.mark.integration
DAY_1, DAY_2 = "2026-06-29", "2026-06-30"


def leadops(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def dbt_running_in_session(session: int) -> bool:
    """A process of the session writes a dbt log: the run is in its dbt step (dbt runs in the step's
    process and closes its log when it returns)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) != session:
                continue
            if any(os.readlink(fd).endswith("/dbt.log") for fd in (proc / "fd").iterdir()):
                return True
        except OSError:
            continue
    return False


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what} after {seconds} s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A baseline night, then a refresh that a second refresh meets and that is then killed with
    SIGKILL in its dbt step. Returns what each command said and did."""
    root = tmp_path_factory.mktemp("faults")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate(landing, leads=300, seed=5, end_date=date.fromisoformat(DAY_1))
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    refresh = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--quiet"]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        assert main([*refresh, "--as-of", DAY_1]) == 0
    results = {"warehouse": warehouse}

    first = subprocess.Popen(leadops(*refresh, "--as-of", DAY_2), env=env, start_new_session=True)
    try:
        # In its dbt step the refresh holds the DuckDB file through dbt's connection, not its own:
        # leadops' lock tells a second refresh at once.
        wait_for(lambda: dbt_running_in_session(first.pid), 300, "the first refresh's dbt step")
        started = time.monotonic()
        try:
            second = subprocess.run(
                leadops(*refresh, "--as-of", DAY_2), env=env, capture_output=True, text=True, timeout=60
            )
            results["second"] = (second.returncode, second.stderr, time.monotonic() - started, first.pid)
        except subprocess.TimeoutExpired as waited:
            results["second"] = (None, waited.stderr, time.monotonic() - started, first.pid)
        results["killed_in_dbt"] = dbt_running_in_session(first.pid)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

    for command in ("status", "segments"):
        done = subprocess.run(leadops(command, "--warehouse", str(warehouse)), env=env, capture_output=True, text=True)
        results[command] = (done.returncode, done.stdout, done.stderr)
    return results


def test_a_second_refresh_is_refused_at_once_naming_the_holder(killed):
    code, err, seconds, holder_pid = killed["second"]
    assert code == 3, err
    assert f"another refresh (PID {holder_pid}, started at 20" in err and "holds the warehouse" in err
    assert seconds < 30  # the time to start Python; it waited on nothing


def test_status_says_the_killed_run_did_not_finish(killed):
    code, out, _ = killed["status"]
    assert killed["killed_in_dbt"]
    assert code == 1
    assert f"as of {DAY_2}: DID NOT FINISH" in out


def test_the_read_commands_read_the_whole_published_copy_after_a_killed_run(killed):
    code, out, err = killed["segments"]
    warehouse = killed["warehouse"]
    published = warehouse.parent / "published" / "leadops.duckdb"
    assert code == 0
    assert f"note: reading {published}: {warehouse} is not whole: the last run " in err
    assert "did not finish; this is the last published state" in err
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select distinct as_of_date::varchar from marts.lead_scores").fetchall() == [(DAY_1,)]
        expected = con.execute("select segment, count(*) from marts.segment_members group by 1").fetchall()
    printed = {tuple(line.split()) for line in out.splitlines()}
    assert printed == {(segment, str(leads)) for segment, leads in expected}


def test_each_run_has_its_own_log_and_the_last_is_linked(killed):
    logs = killed["warehouse"].parent / "logs"
    baseline, killed_run = sorted((logs / "runs").glob("*.log"))  # the refused run wrote none
    assert (logs / "last_run.log").resolve() == killed_run.resolve()
    assert "refresh" in baseline.read_text()  # not written over by the runs after it


def test_a_full_disk_is_the_runs_reported_and_recorded_failure(small_disk, tmp_path):
    landing, warehouse = tmp_path / "landing", small_disk / "warehouse.duckdb"
    generate(landing, leads=2000, seed=5, end_date=date.fromisoformat(DAY_1))  # more than 6 MiB loaded
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    command = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", DAY_1, "--quiet"]

    done = subprocess.run(leadops(*command), env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "cannot rollback" not in done.stderr
    assert f"FAILED: 1 problem(s) above: no space left on device at {warehouse}.wal" in done.stderr
    (step,) = [line for line in done.stderr.splitlines() if line.startswith("ERROR step ")]
    assert f'Could not write file "{warehouse}.wal": No space left on device' in step  # the original error
    status = subprocess.run(leadops("status", "--warehouse", str(warehouse)), env=env, capture_output=True, text=True)
    assert status.returncode == 1
    assert f"as of {DAY_1}: FAILURE" in status.stdout
    assert f"failure: no space left on device at {warehouse}.wal" in status.stdout
