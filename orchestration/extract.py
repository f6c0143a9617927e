"""A sync tool's database as the start of the lineage: one asset per table the source mapping reads,
extracting the rows the sync changed since the last run (leadops.sources.extract) into the folder
that the table's feeds load from."""

from pathlib import Path

import dagster as dg

from leadops.settings import Settings
from leadops.sources.extract import extract, extract_folder, redacted, source_database
from leadops.sources.mapping import SourceMapping
from orchestration.ingest import landing_key


def extract_assets(settings: Settings, mapping: SourceMapping, retry: dg.RetryPolicy) -> list[dg.AssetsDefinition]:
    """The extraction of a database source, or nothing for a source of files."""
    if settings.source_database is None:
        return []
    database = source_database(settings, mapping)
    folder = extract_folder(settings, mapping)
    specs = [
        dg.AssetSpec(
            key=landing_key(table),
            description=(
                f"`{database.schema}.{table}` in {redacted(database.url)}: the rows the sync changed since the last "
                f"run (by `{database.cursor}`), extracted as Parquet into {folder / table}."
            ),
            group_name="ingest",
            kinds={"dlt", database.kind, "parquet"},
            owners=["team:data-engineering"],
        )
        for table in database.tables
    ]

    @dg.multi_asset(specs=specs, name=f"extract_{mapping.name.replace('-', '_')}", retry_policy=retry)
    def extract_source(context: dg.AssetExecutionContext):
        report = extract(database, folder, settings.extract_folder / ".dlt")
        for table in database.tables:
            context.log.info(f"{database.schema}.{table}: {report.rows[table]} new row(s)")
            yield dg.MaterializeResult(
                asset_key=landing_key(table),
                metadata={
                    "rows_extracted": report.rows[table],
                    "files": dg.MetadataValue.json(report.files[table]),
                    "folder": dg.MetadataValue.path(str(Path(folder) / table)),
                },
            )

    return [extract_source]
