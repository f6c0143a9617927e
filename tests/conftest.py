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
