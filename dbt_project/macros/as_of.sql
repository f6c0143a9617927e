{#- The date every score is computed as of: the `as_of` var (`dbt build --vars '{as_of: ...}'`),
    else the LEADOPS_AS_OF environment variable, which is how Dagster passes it. It is validated as
    a calendar date and rendered as a literal: SQL never reads the wall clock.

    The environment variable is read only when SQL is executed, never while dbt parses the project:
    a var is part of what dbt checks before reusing its last parse, so a new date in a var costs a
    parse of the whole project (2.4 s at every run), and an environment variable read while parsing
    would mark every model that asks for the date as changed. -#}
{% macro as_of_date() -%}
    {%- set raw = var('as_of', none) -%}
    {%- if raw is none and execute -%}
        {%- set raw = env_var('LEADOPS_AS_OF', '') or none -%}
        {%- if raw is none -%}
            {{ exceptions.raise_compiler_error(
                "Set the as_of date: --vars '{as_of: 2026-11-23}' or LEADOPS_AS_OF=2026-11-23"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.strptime((raw or '1970-01-01') | string, '%Y-%m-%d') -%}
    cast('{{ parsed.strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}

{#- Whole days from a timestamp to the as_of date (0 on the as_of date itself). -#}
{% macro days_before_as_of(timestamp_column) -%}
    {{ dbt.datediff('cast(' ~ timestamp_column ~ ' as date)', leadops.as_of_date(), 'day') }}
{%- endmacro %}

{#- Midnight after the as_of date, as a timestamp: `occurred_at < day_after_as_of()` keeps the
    events on or before as_of and, unlike a cast of every timestamp to a date, lets the engine skip
    what the range excludes. -#}
{% macro day_after_as_of() -%}
    cast({{ dbt.dateadd('day', 1, leadops.as_of_date()) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A test's `where` config is rendered when dbt parses the project, so a date in it would be the
    date of the last full parse. `__as_of_date__` in it stands for the as_of date of the run that
    executes the test instead (dbt looks up this macro in the project before its own). -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__as_of_date__', leadops.as_of_date()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
