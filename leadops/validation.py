"""Great Expectations suites (kept as JSON in `expectations/`) run on bounded pandas batches.

GX's SQL datasource does not work on DuckDB (GX issues 10738 and 11579), and pulling a whole
history into pandas does not scale, so suites validate what is bounded: the rows a file just
brought in, or a deterministic sample of a mart. Full-table invariants (uniqueness across the
whole history, reconciliation) are dbt tests and SQL asset checks instead.
"""

from __future__ import annotations

import functools
import io
import json
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by whoever hands over a frame; the Dagster definitions must not pay for it
    import pandas as pd

SUITES_DIR = Path(__file__).resolve().parents[1] / "expectations"
SAMPLE_LIMIT = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    severity: str  # error | warn
    success: bool
    unexpected_count: int
    sample: list[Any]
    indices: list[Any] = field(default_factory=list)  # frame index of the first failing rows

    def as_record(self) -> dict[str, Any]:
        """What a check's metadata shows of a failure."""
        return {
            "expectation": self.expectation,
            "column": self.column,
            "severity": self.severity,
            "unexpected_count": self.unexpected_count,
            "sample": self.sample,
        }


@dataclass
class SuiteOutcome:
    suite: str
    rows_validated: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def has_errors(self) -> bool:
        return any(o.severity == "error" for o in self.failures)

    @property
    def passed(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        if self.passed:
            return f"{self.suite}: {len(self.outcomes)} expectations met on {self.rows_validated} rows"
        return "; ".join(
            f"{o.expectation}({o.column or ''}) [{o.severity}]: {o.unexpected_count} unexpected, e.g. {o.sample}"
            for o in self.failures
        )


def suite_definition(name: str) -> dict[str, Any]:
    return json.loads((SUITES_DIR / f"{name}.json").read_text(encoding="utf-8"))


# One lock for everything that may import Great Expectations: two threads importing it at once can
# meet its modules half-initialised ("partially initialized module 'sqlalchemy.orm.exc'"), so the
# import happens exactly once, in whichever thread comes first, while the others wait.
_GX_LOCK = threading.RLock()


def great_expectations():
    """The great_expectations module, imported once under the lock.

    Imported here, not at module level: it takes seconds to import and only the checks need it,
    not the UI, the daemon or the CLI."""
    with _GX_LOCK:
        import great_expectations as gx

        return gx


def warm_up_in_background(suite: str) -> threading.Thread | None:
    """Import great_expectations and set up the suite's batch in a thread of its own.

    The import takes about 2.5 s, once per process. A gate that starts it when a new file is found
    spends that time while DuckDB, which releases the GIL, validates the file; the first
    validation then waits only for what is left of it. With a validation process started, it is
    already importing there."""
    if _worker is not None:
        return None
    thread = threading.Thread(target=_batch_definition, args=(suite,), name=f"warm-up-{suite}", daemon=True)
    thread.start()
    return thread


# A process of its own for the suites, started by a command before it imports Dagster: Python's
# imports hold the interpreter lock, so a thread cannot hide GX's 2.5 s behind Dagster's 2.8 s, but a
# second process does, on the second core. The frames go to it pickled (a gate's sample or a mart's
# bounded sample: milliseconds), the outcomes come back as the dataclasses above.
_worker: ProcessPoolExecutor | None = None


def start_validation_process() -> None:
    """Start importing Great Expectations in a process of its own; the suites then run there.

    Nothing changes where GX is imported already (a test session): the process would only add
    the import it saves."""
    global _worker
    if _worker is None and "great_expectations" not in sys.modules:
        import multiprocessing

        # spawn, not fork: a forked child would inherit the parent's threads' locks and its files
        _worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet)
        _worker.submit(_batch_definition, "raw_activity")  # the pool starts its process on the first task


def stop_validation_process() -> None:
    global _worker
    if _worker is not None:
        _worker.shutdown(wait=True, cancel_futures=True)
        _worker = None


def validation_process_pid() -> int | None:
    """The validation process's pid while one runs (for the tests)."""
    processes = getattr(_worker, "_processes", None) or {}
    return next(iter(processes), None)


def _quiet() -> None:
    """In the validation process, GX's output (warnings, progress) is kept and handed back with each
    outcome, so it reaches the run's log as it would from this process, not the terminal."""
    sys.stdout = sys.stderr = io.StringIO()


def _validate_there(frame: pd.DataFrame, suite: str) -> tuple[SuiteOutcome, str]:
    outcome = _validate_here(frame, suite)
    printed = sys.stderr.getvalue() if isinstance(sys.stderr, io.StringIO) else ""
    sys.stdout = sys.stderr = io.StringIO()
    return outcome, printed


def _batch_definition(suite: str):
    with _GX_LOCK:  # the warm-up thread and the first validation may both ask
        return _cached_batch_definition(suite)


@functools.cache
def _cached_batch_definition(suite: str):
    gx = great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(f"leadops_{suite}")
    return source.add_dataframe_asset(suite).add_batch_definition_whole_dataframe("batch")


def validate_frame(frame: pd.DataFrame, suite: str) -> SuiteOutcome:
    """Run the named suite on a bounded frame and return what failed, with samples: in the
    validation process when one was started, else here."""
    global _worker
    if _worker is not None:
        try:
            outcome, printed = _worker.submit(_validate_there, frame, suite).result()
        except BrokenProcessPool:  # the process died (killed, out of memory): the suite still runs, here
            print("the validation process ended; Great Expectations runs in this process", file=sys.stderr)
            _worker = None
        else:
            print(printed, end="", file=sys.stderr)
            return outcome
    return _validate_here(frame, suite)


def _validate_here(frame: pd.DataFrame, suite: str) -> SuiteOutcome:
    definition = suite_definition(suite)
    # GX imports more of itself lazily while it validates, so a validation holds the lock too: the
    # checks run one at a time anyway (in-process executor); what waits is a warm-up's overlap.
    with _GX_LOCK:
        batch_definition = _batch_definition(suite)
        expectations = great_expectations().ExpectationSuite(
            name=definition["name"], expectations=definition["expectations"]
        )
        result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            expectations, result_format="SUMMARY"
        )
    outcome = SuiteOutcome(suite, len(frame))
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        sample = details.get("partial_unexpected_list") or []
        if item.exception_info and item.exception_info.get("raised_exception"):
            sample = [item.exception_info.get("exception_message")]
        outcome.outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=config.kwargs.get("column"),
                severity=(config.meta or {}).get("severity", "error"),
                success=bool(item.success),
                unexpected_count=int(details.get("unexpected_count") or (0 if item.success else 1)),
                sample=[_plain(v) for v in sample[:SAMPLE_LIMIT]],
                indices=list(details.get("partial_unexpected_index_list") or [])[:SAMPLE_LIMIT],
            )
        )
    return outcome


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
