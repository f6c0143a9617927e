"""Each dbt invocation leaves a folder of artifacts; only the newest are kept, and its parse is
what the next invocation starts from."""

import os

from orchestration.dbt import KEPT_RUN_ARTIFACTS, keep_parse_for_next_run, prune_run_artifacts
from orchestration.dbt_in_process import environment


def test_only_the_newest_run_folders_of_the_asset_are_kept(tmp_path):
    folders = [tmp_path / f"leadops_dbt_models-{run:07x}-abc1234" for run in range(KEPT_RUN_ARTIFACTS + 5)]
    for age, folder in enumerate(reversed(folders)):
        (folder / "compiled").mkdir(parents=True)
        os.utime(folder, (1_000_000 - age, 1_000_000 - age))  # folders[-1] is the newest
    elsewhere = tmp_path / "spark"
    elsewhere.mkdir()

    prune_run_artifacts(folders[-1])

    kept = sorted(p.name for p in tmp_path.glob("leadops_dbt_models-*"))
    assert kept == sorted(f.name for f in folders[-KEPT_RUN_ARTIFACTS:])
    assert elsewhere.exists() and (tmp_path / folders[-1].name / "compiled").exists()


def test_the_parse_of_an_invocation_replaces_the_kept_one(tmp_path):
    kept_in = tmp_path / "target"
    kept_in.mkdir()
    (kept_in / "partial_parse.msgpack").write_bytes(b"parsed with the default warehouse")
    run = kept_in / "leadops_dbt_models-0000001-abc1234"
    run.mkdir()
    (run / "partial_parse.msgpack").write_bytes(b"parsed with this warehouse")

    keep_parse_for_next_run(run, kept_in)

    assert (kept_in / "partial_parse.msgpack").read_bytes() == b"parsed with this warehouse"
    assert sorted(p.name for p in kept_in.iterdir()) == [run.name, "partial_parse.msgpack"]  # no partial file left


def test_an_invocation_without_a_parse_leaves_the_kept_one(tmp_path):
    run = tmp_path / "leadops_dbt_models-0000001-abc1234"
    run.mkdir()
    (tmp_path / "partial_parse.msgpack").write_bytes(b"kept")

    keep_parse_for_next_run(run, tmp_path)

    assert (tmp_path / "partial_parse.msgpack").read_bytes() == b"kept"


def test_the_environment_of_the_block_is_restored_after_it(monkeypatch):
    """The dbt resource sets its variables only while it starts the dbt process."""
    monkeypatch.setenv("LEADOPS_TEST_SET", "before")
    monkeypatch.delenv("LEADOPS_TEST_UNSET", raising=False)

    with environment({"LEADOPS_TEST_SET": "inside", "LEADOPS_TEST_UNSET": "inside"}):
        assert os.environ["LEADOPS_TEST_SET"] == os.environ["LEADOPS_TEST_UNSET"] == "inside"

    assert os.environ["LEADOPS_TEST_SET"] == "before"
    assert "LEADOPS_TEST_UNSET" not in os.environ


def test_a_parse_that_cannot_be_kept_is_reported_and_leaves_nothing_behind(tmp_path):
    run = tmp_path / "leadops_dbt_models-0000001-abc1234"
    run.mkdir()
    (run / "partial_parse.msgpack").write_bytes(b"parsed")
    missing = tmp_path / "no such folder"

    assert isinstance(keep_parse_for_next_run(run, missing), FileNotFoundError)
    assert not missing.exists() and sorted(p.name for p in tmp_path.iterdir()) == [run.name]
