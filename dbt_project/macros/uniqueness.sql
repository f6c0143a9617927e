{#- The failing rows of a uniqueness test on `key_columns`. With `arrived_where` (the rows the last
    run wrote), only the keys of those rows are grouped: each is looked up among all the rows, so
    an arriving key that repeats an older one, or another arriving one, still fails, while the
    older rows, which passed this test when they arrived, are not grouped again. That keeps the
    test's cost with the new data, not the history. A null key never matches; the keys' not_null
    tests cover it. -#}
{% macro unique_keys_among_arrivals(model, key_columns, arrived_where=none) -%}
{%- set keys = key_columns | join(', ') -%}
{%- if arrived_where is none %}

select
    {{ keys }},
    count(*) as n_records
from {{ model }}
group by {{ keys }}
having count(*) > 1

{%- else %}

with arrived as (

    select distinct {{ keys }}
    from {{ model }}
    where {{ arrived_where }}

),

matching_rows as (

    select
        {%- for column in key_columns %}
        history.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }} as history
    inner join arrived
        on
        {%- for column in key_columns %}
            {{ "and " if not loop.first }}history.{{ column }} = arrived.{{ column }}
        {%- endfor %}

),

final as (

    select
        {{ keys }},
        count(*) as n_records
    from matching_rows
    group by {{ keys }}
    having count(*) > 1

)

select * from final

{%- endif %}
{%- endmacro %}
