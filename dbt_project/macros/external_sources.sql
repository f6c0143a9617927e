{#- On engines that do not share DuckDB's file, the raw and config tables are read from the
    Parquet lake that `leadops lake-export` writes (var `lake_path`). Runs as on-run-start. -#}
{% macro register_external_sources() -%}
    {{ return(adapter.dispatch('register_external_sources', 'leadops')()) }}
{%- endmacro %}

{% macro default__register_external_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_external_sources() -%}
    {%- if execute -%}
        {%- set lake_path = var('lake_path', none) -%}
        {%- if lake_path is none -%}
            {{ exceptions.raise_compiler_error("Set the lake_path var to the folder that leadops lake-export wrote") }}
        {%- endif -%}
        {%- if "'" in lake_path or "\\" in lake_path -%}
            {{ exceptions.raise_compiler_error("lake_path must not contain quotes or backslashes: " ~ lake_path) }}
        {%- endif -%}
        {%- for source in graph.sources.values() -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- do run_query('drop table if exists ' ~ source.schema ~ '.' ~ source.name) -%}
            {%- do run_query(
                'create table ' ~ source.schema ~ '.' ~ source.name ~ ' using parquet location '
                ~ "'" ~ lake_path ~ '/' ~ source.schema ~ '/' ~ source.name ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
