"""The Dagster graph as the UI shows it: one connected lineage, groups by folder, a nightly schedule."""

import json
import os
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from leadops.settings import Settings
from orchestration.definitions import build_definitions, defs
from orchestration.resources import AS_OF_TAG


def landing_sensor(**settings) -> dg.SensorDefinition:
    return build_definitions(Settings(**settings)).resolve_sensor_def("landing_files_sensor")


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def _key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_lineage_runs_from_landing_files_to_segments(graph):
    def upstream(key: dg.AssetKey) -> set[dg.AssetKey]:
        seen, todo = set(), [key]
        while todo:
            for parent in graph.get(todo.pop()).parent_keys:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    ancestors = upstream(_key("marts/segment_members"))
    for source in ("leads", "accounts", "activity"):
        assert {_key(f"landing/{source}"), _key(f"raw/{source}")} <= ancestors
    assert {_key("config/fit_rules"), _key("marts/lead_scores"), _key("marts/lead_fit")} <= ancestors
    calibration = upstream(_key("marts/score_calibration"))
    assert {_key("landing/conversions"), _key("marts/lead_scores")} <= calibration


def test_the_nightly_schedule_scores_as_of_its_own_date():
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "refresh"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 14, 2, 0))
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags[AS_OF_TAG] == "2026-03-14"


def test_the_landing_sensor_requests_one_run_per_new_set_of_files(tmp_path):
    (tmp_path / "leads").mkdir()
    (tmp_path / "leads" / "monday.csv").write_text("lead_id,email,created_at\nL1,a@b.com,2026-01-01\n")
    sensor = landing_sensor(landing=tmp_path, landing_settle_seconds=0)

    first = sensor.evaluate_tick(dg.build_sensor_context(cursor=None))
    assert len(first.run_requests) == 1 and AS_OF_TAG in first.run_requests[0].tags

    again = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))
    assert again.run_requests == [] and again.skip_message == "no new files in the landing folder"

    (tmp_path / "leads" / "tuesday.csv").write_text("lead_id,email,created_at\nL2,b@b.com,2026-01-02\n")
    third = sensor.evaluate_tick(dg.build_sensor_context(cursor=again.cursor or first.cursor))
    assert len(third.run_requests) == 1
    assert third.run_requests[0].run_key != first.run_requests[0].run_key


def test_the_landing_sensor_waits_for_a_file_to_stop_changing(tmp_path):
    """A file still being copied in would be loaded half, then again whole with every event refused as
    a repeat: the sensor waits until the file has not changed for the settle time."""
    (tmp_path / "activity").mkdir()
    copying = tmp_path / "activity" / "today.csv"
    copying.write_text("event_id,lead_id,event_type,occurred_at\nE1,L1,page_view,2026-01-01\n")
    sensor = landing_sensor(landing=tmp_path, landing_settle_seconds=30)

    waiting = sensor.evaluate_tick(dg.build_sensor_context(cursor=None))
    assert waiting.run_requests == [] and waiting.skip_message == "waiting for 1 file(s) to stop changing"

    a_minute_ago = time.time() - 60
    os.utime(copying, (a_minute_ago, a_minute_ago))
    (request,) = sensor.evaluate_tick(dg.build_sensor_context(cursor=waiting.cursor)).run_requests
    assert request.tags["leadops/new_files"] == "1"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14 and UTC-11
def test_an_intra_day_run_takes_todays_date_in_the_schedules_time_zone(tmp_path, zone):
    """Otherwise, east of UTC, a file landing after the nightly run would score as of the day before
    it, and the carried models would be rebuilt from the whole history as a run back in time."""
    (tmp_path / "leads").mkdir()
    (tmp_path / "leads" / "monday.csv").write_text("lead_id,email,created_at\nL1,a@b.com,2026-01-01\n")
    sensor = landing_sensor(landing=tmp_path, landing_settle_seconds=0, timezone=zone)

    (request,) = sensor.evaluate_tick(dg.build_sensor_context(cursor=None)).run_requests

    assert request.tags[AS_OF_TAG] == datetime.now(ZoneInfo(zone)).date().isoformat()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc"])
def test_a_time_zone_that_does_not_exist_is_named_in_the_error(zone):
    with pytest.raises(ValueError, match=f"LEADOPS_TIMEZONE='{re.escape(zone)}' is not a time zone"):
        Settings.load(environ={"LEADOPS_TIMEZONE": zone})


def test_segment_tables_must_be_fresh_within_a_day(graph):
    for table in ("lead_scores", "segment_members"):
        policy = graph.get(_key(f"marts/{table}")).freshness_policy
        assert policy.fail_window.to_timedelta().total_seconds() == 24 * 3600
    assert graph.get(_key("marts/lead_fit")).freshness_policy is None


def test_every_asset_tells_the_ui_what_it_is_and_who_owns_it(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description, f"{name} has no description"
        assert node.owners, f"{name} has no owner"
        assert node.kinds, f"{name} has no kind tags"
        assert node.group_name in {
            "ingest",
            "staging",
            "intermediate",
            "marts",
            "scoring",
            "publishing",
            "model_training",
            "predictive",
        }, name


def test_steps_that_touch_files_or_the_network_retry_transient_failures():
    for key in ("raw/leads", "published/marts", "published/exports", "ops/alerts"):
        policy = defs.resolve_assets_def(_key(key)).op.retry_policy
        assert policy and policy.max_retries >= 2, key
    # and a run whose process died is retried by the daemon, from the failed step
    assert defs.resolve_job_def("refresh").tags["dagster/max_retries"] == "2"


def test_the_dbt_resource_skips_what_dagster_dbt_would_load_for_nothing():
    """The two dagster-dbt hooks LeadopsDbtCli overrides must still exist, or the overrides are dead
    code and every run pays again: the version subprocess and the in-process dbt adapter."""
    from dagster_dbt import DbtCliResource

    from orchestration.project import dbt_executable, dbt_project
    from orchestration.resources import LeadopsDbtCli

    for hook in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert hasattr(DbtCliResource, hook), f"dagster-dbt no longer has {hook}"
    dbt = LeadopsDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())
    assert dbt._initialize_dbt_core_adapter(["build"]) is None
    assert str(dbt._cli_version).startswith("1.11")


def test_the_dbt_assets_are_those_dbt_cores_selection_gives_without_importing_it():
    """The default selection read from the manifest (orchestration/dbt.py) gives the same assets,
    dependencies and checks as dagster-dbt's own evaluation with dbt-core, and loading the
    definitions no longer imports dbt-core's selector."""
    import subprocess
    import sys

    from dagster_dbt import asset_utils, dbt_assets

    from orchestration.dbt import LeadopsTranslator, default_selection_read_from_the_manifest, leadops_dbt_models
    from orchestration.project import dbt_project

    def same(context):
        raise NotImplementedError

    with_dbt_core = dbt_assets(
        manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LeadopsTranslator()
    )(same)
    assert leadops_dbt_models.keys == with_dbt_core.keys
    assert leadops_dbt_models.asset_deps == with_dbt_core.asset_deps
    assert set(leadops_dbt_models.check_keys) == set(with_dbt_core.check_keys)
    nodes = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    tests = [node for node in nodes if node["resource_type"] == "test"]
    assert len(leadops_dbt_models.check_keys) == len(tests) > 50

    # Only while the dbt assets are defined, and only the default selection.
    original = asset_utils.select_unique_ids
    with default_selection_read_from_the_manifest():
        assert asset_utils.select_unique_ids is not original
    assert asset_utils.select_unique_ids is original

    imported = subprocess.run(
        [sys.executable, "-c", "import sys, orchestration.definitions; print('dbt.graph' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "False"


def test_each_crm_with_credentials_gets_a_sync_asset_after_the_published_copy():
    assert not [key for key in defs.resolve_asset_graph().get_all_asset_keys() if key.path[0] == "crm"]
    settings = Settings.load(
        {
            "LEADOPS_HUBSPOT_TOKEN": "pat-test",
            "LEADOPS_SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
            "LEADOPS_SALESFORCE_ACCESS_TOKEN": "00D-test",
        }
    )
    definitions = build_definitions(settings)
    graph = definitions.resolve_asset_graph()
    refresh = definitions.resolve_job_def("refresh")
    for crm in ("hubspot", "salesforce"):
        key = _key(f"crm/{crm}")
        assert graph.get(key).parent_keys == {_key("published/marts")}
        assert key in refresh.asset_layer.selected_asset_keys
