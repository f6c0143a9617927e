{#- Columns that are never null, checked in one scan of the model: the rows where any of them is
    null. One test per model instead of dbt's not_null per column, because every test is a query
    for dbt and a check for Dagster on every night, whatever the data (docs/performance.md). -#}
{% test not_null_columns(model, columns) %}

select {{ columns | join(', ') }}
from {{ model }}
where
    {% for column in columns -%}
        {{ column }} is null{% if not loop.last %} or{% endif %}
    {% endfor %}

{% endtest %}
