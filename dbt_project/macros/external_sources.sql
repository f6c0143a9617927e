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
        {%- set engine_source = var('engine_source', none) -%}
        {%- for source in graph.sources.values() -%}
            {#- A sync's tables in the engine's catalog become the raw tables below, not the lake's. -#}
            {%- if engine_source is not none and source.schema == 'raw' -%}{%- continue -%}{%- endif -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- do run_query('drop table if exists ' ~ source.schema ~ '.' ~ source.name) -%}
            {%- do run_query(
                'create table ' ~ source.schema ~ '.' ~ source.name ~ ' using parquet location '
                ~ "'" ~ lake_path ~ '/' ~ source.schema ~ '/' ~ source.name ~ "'"
            ) -%}
        {%- endfor -%}
        {%- if engine_source is not none -%}
            {{ leadops.run_engine_source(engine_source) }}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}
