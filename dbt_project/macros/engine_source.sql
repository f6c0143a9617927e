{#- A sync's tables read where the sync wrote them, in the engine's own catalog (Spark): leadops
    asks for their columns (describe_source_tables, a run-operation), renders the source mapping's
    feeds as SQL over them (leadops/sources/engine_sql.py, engine_rules.py), and on-run-start runs
    those statements, which write the raw tables the staging models read (run_engine_source). -#}

{#- Logs one line, `leadops-columns {"table": [[column, type], ...]}`, for the tables that exist. -#}
{% macro describe_source_tables(schema, tables) -%}
    {%- set found = {} -%}
    {%- for table in tables -%}
        {%- set relation = adapter.get_relation(database=none, schema=schema, identifier=table) -%}
        {%- if relation is not none -%}
            {%- set columns = [] -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- do columns.append([column.name, column.dtype]) -%}
            {%- endfor -%}
            {%- do found.update({table: columns}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ log('leadops-columns ' ~ tojson(found), info=True) }}
{%- endmacro %}

{#- The statements leadops rendered, one JSON object ({"n": order, "sql": statement}) per line of
    the file `path`, which the engine reads itself: they are too long for a var. -#}
{% macro run_engine_source(path) -%}
    {%- if "'" in path or "\\" in path or "`" in path -%}
        {{ exceptions.raise_compiler_error("engine_source must not contain quotes or backslashes: " ~ path) }}
    {%- endif -%}
    {%- set statements = run_query("select n, sql from json.`" ~ path ~ "` order by n") -%}
    {%- for row in statements.rows -%}
        {%- do run_query(row[1]) -%}
    {%- endfor -%}
    {{ log('leadops-engine-source ' ~ statements.rows | length ~ ' statements run', info=True) }}
{%- endmacro %}
