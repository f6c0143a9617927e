"""The Dagster code of leadops: ingest -> dbt -> scoring -> quality, assembled in definitions.py."""
