{#- A composite primary key: no two rows share the combination (macros/uniqueness.sql). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{{ leadops.repeated_keys(model, combination_of_columns) }}

{% endtest %}
