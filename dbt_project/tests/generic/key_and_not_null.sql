{#- A model's row contract in one test: no two rows share the key (`key`, one column or several),
    and the `not_null` columns are never null. Its failing rows say which: the repeated keys with
    their row counts, then the keys of the rows with a null. One test, not a unique and a not_null
    test, because each test costs dbt about 40 ms and Dagster a check on every run, whatever the
    rows (docs/performance.md); the queries inside are those the two tests ran. -#}
{% test key_and_not_null(model, key, not_null=[]) %}

with repeated_keys as (

    {{ leadops.repeated_keys(model, key) }}

),

{%- if not_null %}

rows_with_a_null as (

    select
        {{ key | join(', ') }},
        1 as n_records
    from {{ model }}
    where
        {% for column in not_null -%}
            {{ column }} is null{% if not loop.last %} or{% endif %}
        {% endfor %}

),
{%- endif %}

final as (

    select 'repeated key' as problem, * from repeated_keys
    {%- if not_null %}
    union all
    select 'null in a never-null column' as problem, * from rows_with_a_null
    {%- endif %}

)

select * from final

{% endtest %}
