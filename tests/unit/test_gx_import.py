"""Great Expectations is imported once, by one thread at a time: two threads importing it together
once failed with "partially initialized module 'sqlalchemy.orm.exc'" (a circular import seen half-done)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys, threading
    import pandas as pd
    from leadops import validation

    unlocked = []

    class Watch(importlib.abc.MetaPathFinder):
        # Called for every module not imported yet: GX's and SQLAlchemy's must be imported under the lock.
        def find_spec(self, name, path, target=None):
            lock = getattr(validation, "_GX_LOCK", None)
            held = lock is not None and lock._is_owned()
            if name.split(".")[0] in ("great_expectations", "sqlalchemy") and not held:
                unlocked.append((threading.current_thread().name, name))
            return None

    sys.meta_path.insert(0, Watch())
    frames = {
        "raw_leads": pd.DataFrame({"lead_id": ["L1"], "email": ["a@b.co"], "created_at": [pd.Timestamp("2026-01-01")]}),
        "raw_accounts": pd.DataFrame({"company_domain": ["b.co"]}),
    }
    start = threading.Barrier(4)
    failures = []

    def validate(suite):
        start.wait()
        try:
            validation.validate_frame(frames[suite], suite)
        except Exception as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=validate, args=(suite,)) for suite in frames]
    start_warm_ups = [lambda s=suite: (start.wait(), validation.warm_up_in_background(s).join()) for suite in frames]
    threads += [threading.Thread(target=f) for f in start_warm_ups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("unlocked", len(unlocked), unlocked[:3])
    print("failures", failures)
    """
)


def test_great_expectations_is_imported_and_run_by_one_thread_at_a_time():
    """Four threads start together in a fresh interpreter: two validate, two warm suites up."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "unlocked 0 []" in done.stdout, done.stdout
    assert "failures []" in done.stdout, done.stdout
