{#- The date every score is computed as of. It comes from the `as_of` var, is validated as a
    calendar date and is rendered as a literal: SQL never reads the wall clock. -#}
{% macro as_of_date() -%}
    {%- set raw = var('as_of', none) -%}
    {%- if raw is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error("Set the as_of var, e.g. --vars '{as_of: 2026-11-23}'") }}
        {%- endif -%}
        {%- set raw = '1970-01-01' -%}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.strptime(raw | string, '%Y-%m-%d') -%}
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
