"""Each dbt invocation leaves a folder of artifacts; only the newest are kept."""

import os

from orchestration.dbt import KEPT_RUN_ARTIFACTS, prune_run_artifacts


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
