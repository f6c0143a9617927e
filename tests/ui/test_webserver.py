"""The Dagster UI as a data engineer meets it: the webserver started from workspace.yaml, asked through
its GraphQL API, and the asset graph page rendered by a real headless Chromium."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.ui

LOCATION_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message }
      ... on RepositoryLocation { repositories { schedules { name } sensors { name } jobs { name } } } } } } } }
"""
ASSETS_QUERY = """
{ assetNodes { assetKey { path } groupName description kinds dependencyKeys { path }
    owners { __typename ... on TeamAssetOwner { team } }
    assetChecksOrError { __typename ... on AssetChecks { checks { name blocking } } } } }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body.get("errors")
    return body["data"]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """`dagster-webserver -w workspace.yaml` on 127.0.0.1, as `make ui` starts it, with its own home."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        "LEADOPS_WAREHOUSE": str(home / "warehouse.duckdb"),
        "LEADOPS_LANDING": str(home / "landing"),
    }
    executable = str(Path(sys.executable).with_name("dagster-webserver"))
    server = subprocess.Popen(
        [executable, "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(home / "webserver.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the webserver did not start:\n{(home / 'webserver.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_code_location_loads_with_its_schedule_and_sensors(webserver):
    (entry,) = _graphql(webserver, LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
    location = entry["locationOrLoadError"]
    assert entry["name"] == "leadops" and entry["loadStatus"] == "LOADED"
    assert location["__typename"] == "RepositoryLocation", location.get("message")
    (repository,) = location["repositories"]
    assert {s["name"] for s in repository["schedules"]} == {"nightly_refresh", "weekly_retrain"}
    assert {"landing_files_sensor", "run_log_on_success", "run_log_on_failure"} <= {
        s["name"] for s in repository["sensors"]
    }
    assert {"refresh", "retrain"} <= {j["name"] for j in repository["jobs"]}


def test_every_asset_and_check_is_served_with_lineage_from_landing_files_to_exports(webserver):
    nodes = {"/".join(n["assetKey"]["path"]): n for n in _graphql(webserver, ASSETS_QUERY)["assetNodes"]}

    expected = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(nodes) == expected
    assert {"landing/leads", "raw/activity", "marts/lead_scores", "published/exports", "ops/alerts"} <= set(nodes)
    for key, node in nodes.items():
        assert node["description"] and node["kinds"] and node["owners"], key

    checks = {(key, c["name"]) for key, n in nodes.items() for c in n["assetChecksOrError"].get("checks", [])}
    expected_checks = {(c.asset_key.to_user_string(), c.name) for c in defs.resolve_asset_graph().asset_check_keys}
    assert checks == expected_checks
    assert {("raw/leads", "raw_leads"), ("raw/leads", "files_accepted")} <= checks
    assert any(key == "marts/lead_scores" and name == "key_and_not_null_lead_scores" for key, name in checks)

    # Walk the served edges upstream from the exports: every landing folder feeds them.
    upstream, todo = set(), ["published/exports"]
    while todo:
        for parent in nodes[todo.pop()]["dependencyKeys"]:
            key = "/".join(parent["path"])
            if key not in upstream:
                upstream.add(key)
                todo.append(key)
    for source in ("leads", "accounts", "activity", "conversions"):
        assert {f"landing/{source}", f"raw/{source}"} <= upstream
    assert {"marts/lead_scores", "marts/segment_members", "published/marts"} <= upstream


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed by the test itself when the machine lacks it (CI starts without it)."""
    if not shutil.which("chromium"):
        apt = ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0"]
        prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        for command in ([*apt, "update"], [*apt, "install", "chromium", "chromium-driver"]):
            done = subprocess.run(prefix + command, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-2000:]}"
    return shutil.which("chromium")


CHROMIUM_FLAGS = (
    *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
    *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
    *("--window-size=2400,1600", "--virtual-time-budget=30000"),
)


def _rendered_text(chromium: str, url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran; the flags keep Chromium off the (closed) network."""
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_the_asset_graph_page_renders_our_assets(webserver, chromium, tmp_path):
    overview = _rendered_text(chromium, f"{webserver}/asset-groups", tmp_path / "profile")
    assert "Global asset lineage" in overview
    for group in ("ingest", "staging", "intermediate", "marts", "scoring", "publishing"):
        assert f">{group}<" in overview, group

    # The group's lineage canvas draws only the nodes inside the window; its list view names them all.
    scoring_list = f"{webserver}/locations/leadops/asset-groups/scoring/list"
    scoring = _rendered_text(chromium, scoring_list, tmp_path / "profile")
    for asset in ("lead_scores", "lead_score_factors", "lead_score_history", "segment_changes"):
        assert asset in scoring, asset
