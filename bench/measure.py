"""Run one contender in its own process and measure it: wall seconds and the peak RSS of its process tree.

Each contender is a subprocess so that its memory is its own (leadops' dbt step is a grandchild
process, so the RSS of the whole tree is summed) and a contender that runs out of memory, or past
the cap, is recorded instead of taking the harness down with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

RESULT_PREFIX = "BENCH_RESULT "  # a contender's last words: its own timings, as one JSON line
SAMPLE_SECONDS = 0.05
GIB = 1024**3


@dataclass
class Measurement:
    name: str
    outcome: str  # ok | failed | out_of_memory | rss_cap_exceeded | timeout
    wall_s: float
    peak_rss_bytes: int
    returncode: int | None
    log: str
    reported: dict = field(default_factory=dict)  # what the contender printed after RESULT_PREFIX
    # Each process's own peak (e.g. the Dagster process and its dbt subprocess): where the memory is.
    process_peaks_gib: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / GIB

    def to_json(self) -> dict:
        return asdict(self) | {"peak_rss_gib": round(self.peak_rss_gib, 3)}


class TreeSampler:
    """Resident memory of a process and all its descendants; processes may vanish while we look."""

    def __init__(self, process: psutil.Process):
        self.process = process
        self.labels: dict[int, str] = {}
        self.peaks: dict[str, int] = {}

    def sample(self) -> int:
        total = 0
        try:
            members = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return 0
        for member in members:
            try:
                rss = member.memory_info().rss
                label = self.labels.get(member.pid) or self._label(member)
            except psutil.Error:
                continue
            total += rss
            self.peaks[label] = max(self.peaks.get(label, 0), rss)
        return total

    def _label(self, member: psutil.Process) -> str:
        words = [Path(w).name for w in member.cmdline()[:4]]
        self.labels[member.pid] = f"{member.pid} {' '.join(words)}"[:80]
        return self.labels[member.pid]

    def top_peaks(self, count: int = 4) -> dict[str, float]:
        ordered = sorted(self.peaks.items(), key=lambda p: -p[1])[:count]
        return {label: round(rss / GIB, 3) for label, rss in ordered}


def run_measured(
    name: str,
    command: list[str],
    log_path: Path,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    rss_cap_bytes: int,
    timeout_s: float,
) -> Measurement:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    peak, outcome = 0, None
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        # A session of its own, so that stopping it at the cap stops its children too.
        process = psutil.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = TreeSampler(process)
        while process.poll() is None:
            peak = max(peak, sampler.sample())
            if peak > rss_cap_bytes:
                outcome = "rss_cap_exceeded"
            elif time.perf_counter() - started > timeout_s:
                outcome = "timeout"
            if outcome:
                _kill_session(process)
                break
            time.sleep(SAMPLE_SECONDS)
        returncode = process.wait()
        wall = time.perf_counter() - started
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return Measurement(
        name=name,
        outcome=outcome or _outcome(returncode, text),
        wall_s=round(wall, 3),
        peak_rss_bytes=peak,
        returncode=returncode,
        log=str(log_path),
        reported=_reported(text),
        process_peaks_gib=sampler.top_peaks(),
    )


def _kill_session(process: psutil.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _outcome(returncode: int, text: str) -> str:
    if returncode == 0:
        return "ok"
    # SIGKILL we did not send is the kernel's OOM killer; MemoryError is Python failing to allocate.
    if returncode == -signal.SIGKILL or "MemoryError" in text or "Out of Memory" in text:
        return "out_of_memory"
    return "failed"


def _reported(text: str) -> dict:
    for line in reversed(text.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return {}


def best_of_each(
    commands: dict[str, list[str]], runs: int, cwd: Path, env: dict[str, str] | None = None
) -> dict[str, float]:
    """The fastest of `runs` fresh processes of each command, the commands taking turns round by
    round, so that a busy minute of the machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
    return {name: min(taken) for name, taken in times.items()}
