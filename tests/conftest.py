import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Retried steps wait a fraction of a second in tests, not the production backoff.
os.environ.setdefault("LEADOPS_RETRY_DELAY_SECONDS", "0.2")


def pytest_configure(config):
    # The Dagster definitions read the dbt manifest at import; build it if it is missing or stale.
    from orchestration.project import prepare_manifest

    prepare_manifest()


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """Point every leadops path at a temporary folder; returns (landing, warehouse)."""
    landing = tmp_path / "landing"
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("LEADOPS_LANDING", str(landing))
    monkeypatch.setenv("LEADOPS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("LEADOPS_CONFIG", str(ROOT / "scoring.yml"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return landing, warehouse


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of 6 MiB (tmpfs, mounted as root) to fill up; skipped where it cannot be mounted."""
    import subprocess

    mount = tmp_path / "small_disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)
