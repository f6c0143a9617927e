"""Progress of long work: a live display on a terminal, one plain line per finished part elsewhere.

On a terminal, rich's progress display (the terminal-progress library of the Python data tools,
already installed with Dagster) shows the part running, its elapsed time and what it has done so
far; each finished part is left as a line above it. Elsewhere (a pipe, a file, cron, CI, tests)
only those lines are written, plain text without colour or cursor moves, so a log reads and greps
well. Progress goes to stderr, so `leadops run > report.txt` keeps the report clean.

A display never stops the work it reports on: a stream that cannot be written to is dropped.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal a live display can redraw (not a file, a pipe or TERM=dumb)."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def seconds(value: float) -> str:
    return f"{value:.1f} s"


class ProgressDisplay:
    """A live display of `title` counting finished parts in `unit` on a terminal, plain lines elsewhere.

    `working_on(label, since, detail)` names the part running (its elapsed time counts from `since`,
    a `time.time()`); `done(line)` reports a finished part in one line. Both may be called from any
    thread."""

    def __init__(self, stream: TextIO, title: str, unit: str, total: int | None = None, terminal: bool | None = None):
        self.stream = stream
        self.terminal = is_terminal(stream) if terminal is None else terminal
        self._lock = threading.Lock()
        self._broken = False
        self._live: Progress | None = None
        if self.terminal:
            self._live = _Live(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                _Count(unit),
                TimeElapsedColumn(),
                console=Console(file=stream, force_terminal=True, highlight=False),
                transient=True,  # the finished lines stay; the live part goes when the work ends
                redirect_stdout=False,  # the CLI sends stdout and stderr to the run's log meanwhile
                redirect_stderr=False,
                refresh_per_second=4,
            )
            self._task = self._live.add_task(title, total=total, label="", since=None, detail="")

    def __enter__(self) -> ProgressDisplay:
        if self._live is not None:
            self._guard(self._live.start)
        return self

    def __exit__(self, *_) -> None:
        if self._live is not None:
            self._guard(self._live.stop)

    def set_total(self, total: int) -> None:
        if self._live is not None:
            self._guard(lambda: self._live.update(self._task, total=total))

    def working_on(self, label: str, since: float | None = None, detail: str = "") -> None:
        if self._live is not None:
            self._guard(lambda: self._live.update(self._task, label=label, since=since or time.time(), detail=detail))

    def idle(self) -> None:
        if self._live is not None:
            self._guard(lambda: self._live.update(self._task, label="", since=None, detail=""))

    @property
    def current(self) -> str:
        """The label of the part the live display shows running; '' if none, or not on a terminal."""
        return self._live.tasks[0].fields.get("label", "") if self._live is not None else ""

    def done(self, line: str) -> None:
        if self._live is not None:
            self._guard(lambda: (self._live.console.print(Text(line)), self._live.advance(self._task)))
        else:
            self._guard(lambda: (self.stream.write(line + "\n"), self.stream.flush()))

    def _guard(self, action) -> None:
        with self._lock:
            if self._broken:
                return
            try:
                action()
            except (OSError, ValueError):  # a closed or broken stream: the work goes on without it
                self._broken = True


class _Count(ProgressColumn):
    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        return Text(f"{done}/{int(task.total)} {self.unit}" if task.total is not None else f"{done} {self.unit}")


class _Live(Progress):
    """rich's progress display with, under the bar, the part running: its label, its own elapsed
    time and what it has done so far (a line of its own, so a long step name never squeezes the bar)."""

    def get_renderables(self):
        yield self.make_tasks_table(self.tasks)
        for task in self.tasks:
            label, since, detail = task.fields.get("label"), task.fields.get("since"), task.fields.get("detail")
            if label:
                parts = [label, seconds(max(0.0, time.time() - since)) if since else "", detail]
                yield Text("  " + "  ".join(p for p in parts if p), style="cyan", no_wrap=True, overflow="ellipsis")


class FileProgress:
    """Progress of a job writing `files` in order, told each file once written, as a `(path, rows)`
    callable: a `leadops.demo_data.Progress`. Lines read `wrote leads/leads.csv in 1.2 s, 3,500 rows`,
    the time being since the previous file (drawing the data and writing it)."""

    def __init__(self, stream: TextIO, title: str, files: Sequence[str], terminal: bool | None = None):
        self.files = list(files)
        self.display = ProgressDisplay(stream, title, "files", total=len(self.files), terminal=terminal)
        self._written = 0
        self._since = time.time()

    def __enter__(self) -> FileProgress:
        self.display.__enter__()
        self._next()
        return self

    def __exit__(self, *exc) -> None:
        self.display.__exit__(*exc)

    def __call__(self, path: str, rows: int) -> None:
        now = time.time()
        self.display.done(f"wrote {path} in {seconds(now - self._since)}, {rows:,} rows")
        self._written += 1
        self._since = now
        self._next()

    def _next(self) -> None:
        if self._written < len(self.files):
            self.display.working_on(self.files[self._written], since=self._since)
        else:
            self.display.idle()
