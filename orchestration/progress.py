"""A refresh's progress while it runs, read from the Dagster event log.

`execute_in_process` blocks until the run ends, so a thread reads the run's event log (the records
the UI shows, through the instance's public `get_records_for_run`) a few times a second: step
starts and ends, and the row counts the assets' materializations already carry. On a terminal the
display shows the step running, its elapsed time and its rows so far; elsewhere one line per
finished step, e.g. `step raw__leads finished in 2.1 s, 300 rows` (see `leadops.progress`).

The dbt step is one Dagster step that materializes every model: its line counts the models and
their rows. `orchestration.dbt` reports the models when dbt has exited (it describes the tables
then), so while dbt builds the display shows the step and its elapsed time.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from dagster import DagsterEventType, DagsterInstance, EventLogEntry

from leadops.progress import ProgressDisplay, seconds

STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_RESTARTED,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_UP_FOR_RETRY,
    DagsterEventType.STEP_SKIPPED,
    DagsterEventType.ASSET_MATERIALIZATION,
}
# The row counts the assets report, best first: dbt's tables, the rows an ingest loaded (not the
# table's total), the config tables, predictions and published tables, and a table's total.
ROW_KEYS = ("dagster/row_count", "rows_loaded", "rows", "table_rows")


def rows_in(metadata: Mapping[str, object]) -> int | None:
    """The rows a materialization reports, or None; a mapping of per-table counts is summed."""
    for key in ROW_KEYS:
        if key not in metadata:
            continue
        value = getattr(metadata[key], "value", metadata[key])
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, Mapping) and value and all(type(v) is int for v in value.values()):
            return sum(value.values())
    return None


@dataclass
class Step:
    key: str
    started: float  # the STEP_START event's time.time()
    assets: int = 0
    models: int = 0  # of the assets, those materialized by dbt
    rows: int | None = None
    last_asset: str = ""

    def materialized(self, asset: str, metadata: Mapping[str, object]) -> None:
        self.assets += 1
        if "unique_id" in metadata:  # dagster-dbt names the dbt node of each model it materializes
            self.models += 1
        self.last_asset = asset
        rows = rows_in(metadata)
        if rows is not None:
            self.rows = (self.rows or 0) + rows

    def detail(self) -> str:
        parts = []
        if self.assets > 1:
            parts.append(f"{self.assets} {'models' if self.models == self.assets else 'assets'}")
        if self.rows is not None:
            parts.append(f"{self.rows:,} rows")
        return ", ".join(parts)


def step_line(step: Step, outcome: str, elapsed: float) -> str:
    """One finished step, e.g. `step raw__leads finished in 2.1 s, 300 rows`."""
    detail = step.detail()
    return f"step {step.key} {outcome} {seconds(elapsed)}" + (f", {detail}" if detail else "")


class StepTracker:
    """Turns a run's event log entries, in order, into the steps running and one line per finished step."""

    def __init__(self):
        self.running: dict[str, Step] = {}

    def feed(self, entry: EventLogEntry) -> str | None:
        """The line of the step this entry finishes, if it finishes one."""
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return None
        key, kind = event.step_key, event.event_type
        if kind in (DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED):
            self.running[key] = Step(key, entry.timestamp)
            return None
        if kind == DagsterEventType.STEP_SKIPPED:
            self.running.pop(key, None)
            return f"step {key} skipped"
        step = self.running.setdefault(key, Step(key, entry.timestamp))
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            step.materialized(materialization.asset_key.to_user_string(), materialization.metadata)
            return None
        elapsed = entry.timestamp - step.started
        if kind == DagsterEventType.STEP_SUCCESS:
            duration_ms = getattr(event.event_specific_data, "duration_ms", None)
            del self.running[key]
            return step_line(step, "finished in", duration_ms / 1000 if duration_ms is not None else elapsed)
        if kind == DagsterEventType.STEP_FAILURE:
            del self.running[key]
            return step_line(step, "failed after", elapsed)
        if kind == DagsterEventType.STEP_UP_FOR_RETRY:
            del self.running[key]
            return step_line(step, "failed after", elapsed) + "; retrying"
        return None

    def current(self) -> Step | None:
        """The step started last of those running (the CLI's in-process executor runs one at a time)."""
        return max(self.running.values(), key=lambda s: s.started, default=None)


class RunProgress:
    """Shows a run's progress while the block runs it; pass `run_id` to `execute_in_process`.

        with RunProgress(instance, stream=sys.stderr) as progress:
            job.execute_in_process(instance=instance, run_id=progress.run_id, ...)

    `stream` is the real terminal's stream, taken before any redirect; `is_terminal` None tells from
    the stream; `enabled=False` (`--quiet`) shows nothing. Each finished step has been written when
    the block ends."""

    def __init__(
        self,
        instance: DagsterInstance,
        stream: TextIO,
        is_terminal: bool | None = None,
        enabled: bool = True,
        title: str = "refresh",
        poll_seconds: float = 0.25,
    ):
        self.instance = instance
        self.run_id = str(uuid.uuid4())  # how Dagster makes run ids
        self.enabled = enabled
        self.poll_seconds = poll_seconds
        self.tracker = StepTracker()
        self.display = ProgressDisplay(stream, title, "steps", terminal=is_terminal) if enabled else None
        self._cursor: str | None = None
        self._total_known = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="leadops-run-progress", daemon=True)

    def __enter__(self) -> RunProgress:
        if self.display is not None:
            self.display.__enter__()
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.display is None:
            return
        self._stop.set()
        self._thread.join()
        self._read()  # the run has ended: the last steps' lines, before the run's report
        self.display.__exit__(*exc)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._read()

    def _read(self) -> None:
        # Progress is a courtesy: a read that fails (a busy SQLite instance, say) is tried again at
        # the next poll, and never fails the run.
        with contextlib.suppress(Exception):
            self._read_new_records()

    def _read_new_records(self) -> None:
        if not self._total_known:
            self._total_known = self._read_total()
        connection = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=STEP_EVENTS)
        for record in connection.records:
            line = self.tracker.feed(record.event_log_entry)
            if line is not None:
                self.display.done(line)
        self._cursor = connection.cursor or self._cursor
        step = self.tracker.current()
        if step is None:
            self.display.idle()
        else:
            self.display.working_on(step.key, since=step.started, detail=step.detail())

    def _read_total(self) -> bool:
        """The run's step count, from its execution plan, once the run exists."""
        run = self.instance.get_run_by_id(self.run_id)
        if run is None or run.execution_plan_snapshot_id is None:
            return False
        plan = self.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        self.display.set_total(len(plan.step_keys_to_execute or plan.steps))
        return True
