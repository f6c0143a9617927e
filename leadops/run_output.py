"""Where a run's output goes: one log file per run, the last one linked, and a terminal that gets
the causes, not the stack traces.

Dagster's console logger and dbt print stack traces and every model's line; they go to
`logs/runs/<start>-<pid>.log` beside the warehouse, one file per run so two runs (on two
warehouses in one folder, or a refused second run) never write over each other, and
`logs/last_run.log` links to the latest. A full disk must not turn the log into the run's crash:
what cannot be written is counted, and the run goes on.
"""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime
from pathlib import Path

KEEP_LOGS = 100  # the newest run logs kept; older ones are deleted when a run starts
LAST_RUN = "last_run.log"


class RunLog(io.TextIOBase):
    """A text sink for one run's output that survives a full disk (see the module's doc)."""

    def __init__(self, logs: Path):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = logs / "runs" / f"{stamp}-{os.getpid()}.log"
        self.lost: OSError | None = None
        self._file = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
            _link_last(logs, self.path)
            _prune(self.path.parent)
        except OSError as error:
            self.lost = error

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._guard(lambda: self._file.write(text))
        return len(text)

    def flush(self) -> None:
        self._guard(lambda: self._file.flush())

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()  # closes the descriptor even when its last flush fails
            except OSError as error:
                self.lost = self.lost or error
        super().close()

    def _guard(self, action) -> None:
        if self._file is None or self.lost is not None:
            return
        try:
            action()
        except OSError as error:
            self.lost = error

    def describe(self) -> str:
        where = str(self.path.parent.parent / LAST_RUN)
        return f"{where} (incomplete: {self.lost.strerror or self.lost})" if self.lost else where


def _link_last(logs: Path, path: Path) -> None:
    link = logs / LAST_RUN
    temporary = logs / f".{LAST_RUN}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(path.relative_to(logs))
    os.replace(temporary, link)  # in one step: a reader follows the previous run's log or this one's


def _prune(folder: Path) -> None:
    for old in sorted(folder.glob("*.log"))[:-KEEP_LOGS]:
        old.unlink(missing_ok=True)


CAUSED_BY = re.compile(r"^\s+caused by: (.*)$")


def one_line_causes(report: str) -> str:
    """The failures a run report wrote to stderr, each failed step on one line with its innermost
    cause (for --quiet). Each finding starts a line with ERROR or WARN; a step's error goes on over
    more lines, a `caused by:` one per error it wraps."""
    lines: list[str] = []
    in_step = False
    for line in report.splitlines():
        if line.startswith(("ERROR ", "WARN ")):
            in_step = line.startswith("ERROR step ")
            lines.append(line.splitlines()[0])
        elif not in_step:
            lines.append(line)
        elif caused := CAUSED_BY.match(line):
            lines[-1] = lines[-1].split(" failed: ", 1)[0] + f" failed: {caused.group(1)}"
    return "".join(f"{line}\n" for line in lines)
