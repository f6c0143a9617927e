"""One writer per warehouse: a lock file beside it, held with flock for as long as a refresh runs.

DuckDB lets one process write a file and makes a second one wait on its lock through retries (about
16 minutes) before failing. The lock is taken before any work so a second refresh is told at once
who holds the warehouse. flock is released by the kernel when the holder's process ends, however it
ends, so a run killed with SIGKILL leaves no stale lock: the file stays, the lock does not. The file
holds the holder's PID and start time for the message; it is never deleted, because a process that
unlinked it could let the next two writers lock two different files of the same name.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# The exit code of a command refused because another process holds the warehouse.
EXIT_WAREHOUSE_BUSY = 3

# Locks this process holds, by warehouse: flock is per open file, so a Dagster run inside the CLI
# that holds the lock would otherwise be refused by its own process.
_HELD: dict[Path, int] = {}
PROBE_RETRIES = 10


@dataclass(frozen=True)
class Holder:
    pid: int | None
    started_at: str

    def describe(self) -> str:
        return f"PID {self.pid if self.pid is not None else '?'}, started at {self.started_at}"


class WarehouseBusy(Exception):
    def __init__(self, warehouse: Path, holder: Holder):
        self.warehouse, self.holder = warehouse, holder
        super().__init__(f"another refresh ({holder.describe()}) holds the warehouse {warehouse}")


def lock_path(warehouse: str | Path) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(f"{warehouse.name}.lock")


@contextmanager
def hold(warehouse: str | Path) -> Iterator[None]:
    """Hold the warehouse for the block, or raise WarehouseBusy at once if another process does."""
    key = Path(warehouse).resolve()
    if key in _HELD:
        yield
        return
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            raise WarehouseBusy(key, _read_holder(path))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n".encode(), 0)
        _HELD[key] = fd
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    # `holder()` takes the lock shared for a moment to probe it: a writer retries past such a probe.
    for attempt in range(PROBE_RETRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < PROBE_RETRIES:
                time.sleep(0.05)
    return False


def holder(warehouse: str | Path) -> Holder | None:
    """Who holds the warehouse now, or None when no process does."""
    key = Path(warehouse).resolve()
    if key in _HELD:
        return _read_holder(lock_path(key))
    path = lock_path(key)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path)
        return None
    finally:
        os.close(fd)


def _read_holder(path: Path) -> Holder:
    try:
        pid, _, started = path.read_text(encoding="utf-8").strip().partition(" ")
        return Holder(int(pid), started or "an unknown time")
    except (OSError, ValueError):  # the holder is between truncating and writing its line
        return Holder(None, "an unknown time")
