"""The one dbt project of leadops, and how its manifest is prepared (by the build, never committed)."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this Python, so a venv works without being activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def prepare_manifest(force: bool = False) -> Path:
    """Parse the dbt project when its manifest is missing or older than any of its files."""
    manifest = dbt_project.manifest_path
    sources = [p for folder in ("models", "macros", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*")]
    sources += [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    newest = max(p.stat().st_mtime for p in sources if p.is_file())
    if force or not manifest.exists() or manifest.stat().st_mtime < newest:
        DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()).cli(
            ["parse", "--quiet"], target_path=dbt_project.target_path
        ).wait()
    return manifest


# Under `dagster dev` (make ui) the manifest is re-parsed at load, so model edits show up at once.
if dbt_project.preparer.using_dagster_dev():
    prepare_manifest()
