"""The one dbt project of leadops. Its manifest is built (`leadops prepare`, `make`), never committed."""

from pathlib import Path

from dagster_dbt import DbtProject

dbt_project = DbtProject(project_dir=Path(__file__).resolve().parents[1] / "dbt_project")
# Under `dagster dev` (make ui) the manifest is re-parsed at load, so model edits show up at once.
dbt_project.prepare_if_dev()
