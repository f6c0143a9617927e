"""The `leadops` command line, on top of the domain (leadops/) and the Dagster definitions (orchestration/)."""
