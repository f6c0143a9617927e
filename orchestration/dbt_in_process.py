"""dbt run inside the Dagster step's process (dbt's programmatic `dbtRunner`), not as a subprocess.

A dbt process costs about 1.8 s before its first node (Python's start and dbt's imports), on every
night whatever its data; in the step's process dbt's imports cost 0.3 s, since dagster-dbt has
imported most of dbt already. dagster-dbt's resource only starts a process, so this gives its
invocation an object that behaves as the finished process would have: dbt's structured events (the
JSON lines the process would have printed, from dbt's documented callbacks) as its output, and its
exit code. Everything dagster-dbt does with them (the Outputs, the check results, the errors it
reports) is unchanged.

dbt-duckdb keeps its DuckDB database open until the process exits (an `atexit` hook); in this
process that would hold the warehouse file, so it is closed when dbt returns, before the checks
open the file with their own configuration.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterExecutionInterruptedError
from dagster_dbt.core import dbt_cli_invocation as invocation_module
from dagster_dbt.core import resource as resource_module

# What dbt's own stdout logger would print (dbt_common.events.functions.get_stdout_config): info and
# above, without the relation cache's chatter.
PRINTED_LEVELS = frozenset({"info", "warn", "error"})
NOT_PRINTED = frozenset({"CacheAction", "CacheDumpGraph"})


class FinishedDbt:
    """dbt run to the end in this process, shaped as the `subprocess.Popen` dagster-dbt reads."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        # Imported here: the definitions load without dbt's runner (the UI and the daemon never call it).
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_json
        from dbt_common.exceptions import env_secrets, scrub_secrets

        self.args = list(args)
        lines: list[bytes] = []
        levels: set[str] = set()

        def keep(msg) -> None:
            if msg.info.level in PRINTED_LEVELS and msg.info.name not in NOT_PRINTED:
                lines.append(scrub_secrets(msg_to_json(msg), env_secrets()).encode())
                levels.add(msg.info.level)

        # The events come from the callback: dbt's stdout logger would print them a second time,
        # and its log file stays as dbt writes it in a process of its own. dbt would write the
        # manifest into the invocation's folder twice (0.65 s a night) though nothing reads it there:
        # the definitions read the project's; only run_results.json is written, below.
        quiet = {"DBT_LOG_LEVEL": "none", "DBT_LOG_LEVEL_FILE": "debug", "DBT_WRITE_JSON": "false"}
        # The working directory is the project's already (dagster-dbt's resource enters it).
        with environment({**env, **quiet}), _command_line(self.args):
            try:
                result = dbtRunner(callbacks=[keep]).invoke(self.args[1:])
            finally:
                release_duckdb()
                release_log_file()
        if hasattr(result.result, "write") and "DBT_TARGET_PATH" in env:
            result.result.write(str(Path(env["DBT_TARGET_PATH"]) / "run_results.json"))
        if isinstance(result.exception, (DagsterExecutionInterruptedError, KeyboardInterrupt)):
            raise result.exception  # the run was stopped: that is not a dbt failure
        if result.exception is not None and "error" not in levels:
            lines.append(_error_line(f"dbt raised {type(result.exception).__name__}: {result.exception}"))
        self.returncode = 0 if result.success else (2 if result.exception is not None else 1)
        self.stdout = io.BytesIO(b"\n".join(lines) + b"\n")

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def send_signal(self, signal: int) -> None:
        """dbt has already returned: there is nothing to interrupt."""


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps for the life of the process (it closes it at exit)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing is held
        return
    held = DuckDBConnectionManager._ENV
    if held is not None:
        held.close()
    DuckDBConnectionManager.close_all_connections()


def release_log_file() -> None:
    """Close dbt's log file (the invocation's dbt.log), which dbt's logger otherwise holds open
    until the next invocation in this process."""
    from dbt_common.events.event_manager_client import cleanup_event_logger, get_event_manager

    for logger in get_event_manager().loggers:
        python_logger = getattr(logger, "_python_logger", None)
        for handler in list(getattr(python_logger, "handlers", [])):
            handler.close()
            python_logger.removeHandler(handler)
    cleanup_event_logger()


class InProcessDbtInvocation(invocation_module.DbtCliInvocation):
    """dagster-dbt's invocation, with dbt run by `FinishedDbt` instead of a process."""

    @classmethod
    def run(cls, args, env, manifest, dagster_dbt_translator, project_dir, target_path, raise_on_error, **rest):
        # As dagster-dbt does: start from the project's kept parse (target/partial_parse.msgpack).
        kept = Path(project_dir) / invocation_module._get_dbt_target_path() / invocation_module.PARTIAL_PARSE_FILE_NAME
        copy = Path(target_path) / invocation_module.PARTIAL_PARSE_FILE_NAME
        if kept.exists() and not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(kept, copy)
        return cls(
            process=FinishedDbt(args, env),
            manifest=manifest,
            project=rest.get("dbt_project"),
            dagster_dbt_translator=dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            context=rest.get("context"),
            adapter=rest.get("adapter"),
            cli_version=rest["cli_version"],
        )


@contextmanager
def dbt_in_process() -> Iterator[None]:
    """While the block runs, dagster-dbt's resource invokes dbt in this process."""
    started_as_process = resource_module.DbtCliInvocation
    resource_module.DbtCliInvocation = InProcessDbtInvocation
    try:
        yield
    finally:
        resource_module.DbtCliInvocation = started_as_process


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for what starts inside the block (a dbt process, or dbt here), then
    restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _command_line(args: Sequence[str]) -> Iterator[None]:
    """dbt's log names the command it ran from `sys.argv` (flags.INVOCATION_COMMAND)."""
    before = sys.argv
    sys.argv = ["dbt", *args[1:]]
    try:
        yield
    finally:
        sys.argv = before


def _error_line(message: str) -> bytes:
    event: dict[str, Any] = {"info": {"level": "error", "msg": message, "name": "InProcessDbtError"}, "data": {}}
    return json.dumps(event).encode()
