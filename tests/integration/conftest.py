"""Fixtures of the integration tests.

A real PostgreSQL server for the tests that read a sync's database: Debian's `postgresql`
package (installed with apt-get when missing, as the browser test installs Chromium), a cluster in a
temporary folder, on a free port, stopped when the tests end."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

APT = ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0"]


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in ([*APT, "update"], [*APT, "install", "postgresql"]):
            subprocess.run(command, check=True, capture_output=True, env=env, timeout=900)
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running_postgres() -> Iterator[str]:
    """A server with a `sync` database; yields its URL (user `leadops`, no password: trust on localhost).

    Its folder is a temporary folder of its own, not pytest's: the server's user must reach it,
    and pytest's folders are private to the user running the tests."""
    bin_dir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="leadops-postgres-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "leadops"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"]
    subprocess.run(_as_server_user(start), check=True, capture_output=True)
    try:
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "leadops", "sync"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://leadops@127.0.0.1:{port}/sync"
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url
