"""A run's progress, read from the Dagster event log while a tiny real job runs: one plain line per
finished step elsewhere than a terminal, rich's live display on one, nothing with --quiet."""

import io
import re
import subprocess
import sys
import time

import dagster as dg
import pytest

from leadops.progress import FileProgress, ProgressDisplay
from orchestration.progress import RunProgress, rows_in

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SECONDS = r"\d+\.\d s"


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def _job(seen_while_running: list):
    """raw (300 rows) -> models (two dbt-like models) -> slow, which records what the progress showed
    while it ran; broken fails beside them."""

    @dg.asset
    def raw():
        return dg.MaterializeResult(metadata={"dagster/row_count": 300})

    @dg.multi_asset(specs=[dg.AssetSpec("model_a", deps=[raw]), dg.AssetSpec("model_b", deps=[raw])])
    def models():
        yield dg.MaterializeResult(asset_key="model_a", metadata={"unique_id": "model.x.a", "dagster/row_count": 10})
        yield dg.MaterializeResult(asset_key="model_b", metadata={"unique_id": "model.x.b", "dagster/row_count": 20})

    @dg.asset(deps=["model_b"])
    def slow():
        seen_while_running.append(seen_while_running[0]())

    @dg.asset(deps=[raw])
    def broken():
        raise RuntimeError("broken on purpose")

    return dg.Definitions(assets=[raw, models, slow, broken]).resolve_implicit_global_asset_job_def()


def _run(stream, is_terminal, seen_while_running, enabled=True):
    instance = dg.DagsterInstance.ephemeral()
    with RunProgress(instance, stream=stream, is_terminal=is_terminal, enabled=enabled, poll_seconds=0.05) as progress:
        seen_while_running.insert(0, lambda: _wait_for(lambda: _showing(progress, stream)))
        result = _job(seen_while_running).execute_in_process(
            instance=instance, run_id=progress.run_id, raise_on_error=False
        )
    assert result.run_id == progress.run_id
    finished = instance.get_records_for_run(
        result.run_id, of_type={dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    ).records
    return {r.event_log_entry.dagster_event.step_key for r in finished}


def _showing(progress, stream) -> bool:
    """What `slow` waits for: the progress shows it running (terminal), or the steps before it finished."""
    if progress.display.terminal:
        return progress.display.current == "slow"
    return "step models finished" in stream.getvalue()


def test_elsewhere_than_a_terminal_each_finished_step_is_one_plain_line_written_as_it_finishes():
    stream, seen = io.StringIO(), []
    steps = _run(stream, is_terminal=False, seen_while_running=seen)
    lines = stream.getvalue().splitlines()

    assert seen[1:] == [True]  # written while the run went on, not at its end
    assert not ANSI.search(stream.getvalue())
    assert sorted(line.split()[1] for line in lines) == sorted(steps)  # one line per finished step
    assert re.fullmatch(rf"step raw finished in {SECONDS}, 300 rows", lines[0])
    assert re.fullmatch(rf"step models finished in {SECONDS}, 2 models, 30 rows", _line(lines, "models"))
    assert re.fullmatch(rf"step broken failed after {SECONDS}", _line(lines, "broken"))
    assert re.fullmatch(rf"step slow finished in {SECONDS}", lines[-1])


def test_on_a_terminal_rich_shows_the_step_running_and_leaves_the_finished_lines():
    stream, seen = io.StringIO(), []
    steps = _run(stream, is_terminal=True, seen_while_running=seen)
    plain = ANSI.sub("", stream.getvalue())

    assert seen[1:] == [True]  # the live display named the running step
    assert ANSI.search(stream.getvalue())  # drawn by rich, with colour and cursor moves
    assert "refresh" in plain and f"{len(steps)}/4 steps" in plain
    assert re.search(rf"step models finished in {SECONDS}, 2 models, 30 rows", plain)
    assert re.search(rf"step broken failed after {SECONDS}", plain)


def test_a_quiet_run_shows_nothing():
    stream = io.StringIO()
    _run(stream, is_terminal=False, seen_while_running=[], enabled=False)
    assert stream.getvalue() == ""


def _line(lines, step):
    (line,) = [line for line in lines if line.split()[1] == step]
    return line


@pytest.mark.parametrize(
    ("metadata", "rows"),
    [
        ({"dagster/row_count": dg.MetadataValue.int(7), "rows": 1}, 7),
        ({"rows_read": 5, "rows_loaded": 3, "table_rows": 10}, 3),  # what the ingest loaded, not the table
        ({"rows": dg.MetadataValue.json({"lead_scores": 300, "lead_fit": 300})}, 600),  # published tables
        ({"table_rows": 4}, 4),
        ({"status": "ok", "rows": True}, None),
        ({"files": dg.MetadataValue.json(["a.csv"])}, None),
    ],
)
def test_the_rows_are_those_the_materialization_reports(metadata, rows):
    assert rows_in(metadata) == rows


def test_demo_files_are_one_line_each_elsewhere_and_a_live_display_on_a_terminal():
    files = ["accounts/accounts.csv", "leads/leads.csv"]
    plain, live = io.StringIO(), io.StringIO()
    for stream, terminal in ((plain, False), (live, True)):
        with FileProgress(stream, "demo data", files, terminal=terminal) as progress:
            assert progress.display.current == ("accounts/accounts.csv" if terminal else "")
            progress("accounts/accounts.csv", 63)
            assert progress.display.current == ("leads/leads.csv" if terminal else "")
            progress("leads/leads.csv", 1_000_000)

    assert [re.sub(SECONDS, "T", line) for line in plain.getvalue().splitlines()] == [
        "wrote accounts/accounts.csv in T, 63 rows",
        "wrote leads/leads.csv in T, 1,000,000 rows",
    ]
    drawn = ANSI.sub("", live.getvalue())
    assert "demo data" in drawn and "2/2 files" in drawn and "wrote leads/leads.csv in" in drawn


def test_a_display_on_a_closed_stream_does_not_stop_the_work():
    stream = io.StringIO()
    display = ProgressDisplay(stream, "refresh", "steps", terminal=False)
    stream.close()
    display.done("step raw finished in 0.1 s")  # no error


def test_the_domain_progress_does_not_import_dagster():
    code = "import sys, leadops.progress, leadops.demo_data; print('dagster' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
