{#- The history models keep one slice per as_of date: a run replaces its own date's rows and no
    other, so past dates change only when they are run again (`leadops backfill`). Spark on Parquet
    replaces a date partition; DuckDB deletes and inserts the date's rows. `dbt build --full-refresh`
    (which rebuilds the accumulated models) leaves them alone: the past is not recomputed by accident. -#}
{% macro one_slice_per_as_of() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite' if target.type == 'spark' else 'delete+insert',
        'partition_by': ['as_of_date'] if target.type == 'spark' else none,
        'on_schema_change': 'fail',
        'full_refresh': false,
    }) }}
{%- endmacro %}
