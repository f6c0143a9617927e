"""One settings object: flags, then environment, then defaults; the definitions follow from it alone."""

import os
import re
from pathlib import Path

import dagster as dg
import pytest

from leadops.settings import PROJECT_ROOT, Settings, SettingsError, documented
from orchestration.definitions import build_definitions

PUBLISHED = ("published/marts", "published/exports", "ops/alerts", "marts/lead_predictions")


def test_a_flag_wins_over_the_environment_which_wins_over_the_default(tmp_path):
    environ = {"LEADOPS_WAREHOUSE": str(tmp_path / "env.duckdb"), "LEADOPS_SENSOR_INTERVAL_SECONDS": "15"}

    assert Settings.load(environ={}).warehouse == PROJECT_ROOT / "data" / "warehouse.duckdb"
    assert Settings.load(environ=environ).warehouse == tmp_path / "env.duckdb"
    assert Settings.load(environ=environ, warehouse=tmp_path / "flag.duckdb").warehouse == tmp_path / "flag.duckdb"
    assert Settings.load(environ=environ, warehouse=None).warehouse == tmp_path / "env.duckdb"  # a flag not given
    assert Settings.load(environ=environ).sensor_interval_seconds == 15


def test_a_relative_path_is_resolved_once_where_it_was_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings.load(environ={"LEADOPS_LANDING": "drops"}).landing == tmp_path / "drops"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LEADOPS_SENSOR_INTERVAL_SECONDS": "soon"}, "LEADOPS_SENSOR_INTERVAL_SECONDS='soon' is not an int"),
        ({"LEADOPS_RETRY_DELAY_SECONDS": "5s"}, "LEADOPS_RETRY_DELAY_SECONDS='5s' is not a float"),
        ({"LEADOPS_TIMEZONE": "Mars/Olympus"}, "LEADOPS_TIMEZONE='Mars/Olympus' is not a time zone"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(environ, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.load(environ=environ)


def test_reading_the_settings_and_building_the_definitions_write_no_environment(tmp_path):
    before = dict(os.environ)
    build_definitions(Settings.load(warehouse=tmp_path / "w.duckdb", dbt_target="spark"))
    assert dict(os.environ) == before


def test_the_definitions_take_their_shape_from_the_settings_they_are_given():
    """Built in either order in one process, each has the shape of its own settings: nothing is kept
    between them (the environment was read at import before, so the first import decided)."""
    spark = build_definitions(Settings(dbt_target="spark"))
    duckdb = build_definitions(Settings())
    again = build_definitions(Settings(dbt_target="spark"))

    def keys(defs):
        return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}

    assert not set(PUBLISHED) & keys(spark)
    assert set(PUBLISHED) <= keys(duckdb)
    assert keys(again) == keys(spark)
    assert build_definitions(Settings(nightly_cron="30 5 * * *")).resolve_schedule_def(
        "nightly_refresh"
    ).cron_schedule == ("30 5 * * *")


def test_the_resources_are_built_from_the_settings(tmp_path):
    settings = Settings(warehouse=tmp_path / "w.duckdb", duckdb_memory_limit="1GB", retry_delay_seconds=0.5)
    defs = build_definitions(settings)
    resources = defs.resources
    assert resources["warehouse"].database == str(tmp_path / "w.duckdb")
    assert resources["warehouse"].connection_config == {"memory_limit": "1GB"}
    assert resources["dbt"].environment["LEADOPS_WAREHOUSE"] == str(tmp_path / "w.duckdb")
    assert defs.resolve_assets_def(dg.AssetKey(["raw", "leads"])).op.retry_policy.delay == 0.5


def test_every_setting_is_in_the_configuration_table():
    table = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for variable, _, _ in documented():
        assert f"`{variable}`" in table, variable
