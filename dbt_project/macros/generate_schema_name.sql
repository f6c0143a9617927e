{#- Models land in the schema their folder names (staging, intermediate, marts), not in
    "<target schema>_<folder>": downstream teams query `marts.lead_scores` on every engine. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
