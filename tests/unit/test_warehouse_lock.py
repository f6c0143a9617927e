"""One writer per warehouse: a second is refused at once with the holder named, a killed holder leaves
no stale lock, and neither the landing sensor nor the schedule starts a run behind a holder."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import dagster as dg
import pytest

from leadops.settings import Settings
from leadops.warehouse_lock import WarehouseBusy, hold, holder, lock_path
from orchestration.definitions import build_definitions

HOLD = (
    "import sys, time; from leadops.warehouse_lock import hold\n"
    "with hold(sys.argv[1]):\n    print('holding', flush=True); time.sleep(60)"
)


@pytest.fixture
def held(tmp_path):
    """A real process holding the warehouse; yields (warehouse, process)."""
    warehouse = tmp_path / "warehouse.duckdb"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "holding"
    yield warehouse, process
    process.kill()
    process.wait()


def test_a_second_writer_is_refused_at_once_with_the_holder_named(held):
    warehouse, process = held
    started = time.perf_counter()
    with pytest.raises(WarehouseBusy) as refused, hold(warehouse):
        pass
    assert time.perf_counter() - started < 2  # the retries only wait out a probe's shared lock
    message = str(refused.value)
    assert message.startswith(f"another refresh (PID {process.pid}, started at 20")
    assert message.endswith(f" UTC) holds the warehouse {warehouse}")
    assert holder(warehouse).pid == process.pid


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(held):
    warehouse, process = held
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert lock_path(warehouse).exists()  # the file stays; the kernel released the lock
    assert holder(warehouse) is None
    with hold(warehouse):
        assert holder(warehouse).pid == os.getpid()
        with hold(warehouse):  # the same process again (a Dagster run inside the CLI): not refused
            pass
    assert holder(warehouse) is None


def test_the_landing_sensor_and_the_schedule_start_nothing_behind_a_holder(held, tmp_path):
    warehouse, process = held
    defs = build_definitions(Settings(warehouse=warehouse, landing=tmp_path / "landing", landing_settle_seconds=0))
    (tmp_path / "landing" / "leads").mkdir(parents=True)
    (tmp_path / "landing" / "leads" / "new.csv").write_text("lead_id,email,created_at\nL1,a@b.com,2026-01-01\n")
    expected = f"another refresh (PID {process.pid}, started at "

    sensed = defs.resolve_sensor_def("landing_files_sensor").evaluate_tick(dg.build_sensor_context(cursor=None))
    scheduled = defs.resolve_schedule_def("nightly_refresh").evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 14, 2, 0))
    )

    assert sensed.run_requests == [] and sensed.skip_message.startswith(expected)
    assert sensed.cursor is None  # the files stay new for the tick after the holder ends
    assert scheduled.run_requests == [] and scheduled.skip_message.startswith(expected)
    assert sensed.skip_message.endswith("holds the warehouse")


def test_the_landing_sensor_starts_nothing_behind_a_refresh_being_launched(tmp_path):
    settings = Settings(warehouse=tmp_path / "warehouse.duckdb", landing=tmp_path / "landing", landing_settle_seconds=0)
    defs = build_definitions(settings)
    (tmp_path / "landing" / "leads").mkdir(parents=True)
    (tmp_path / "landing" / "leads" / "new.csv").write_text("lead_id,email,created_at\nL1,a@b.com,2026-01-01\n")
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    with dg.instance_for_test() as instance:
        assert len(sensor.evaluate_tick(dg.build_sensor_context(instance=instance)).run_requests) == 1
        instance.add_run(dg.DagsterRun(job_name="refresh", run_id="launched-run", status=dg.DagsterRunStatus.STARTING))
        skipped = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert skipped.run_requests == [] and skipped.skip_message == "refresh launched-run is starting"
