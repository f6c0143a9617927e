{#- Text as space-separated lower-case words with a space at each end, so that a keyword
    matches whole words only: ' vp of sales ' contains ' vp ', ' supervisor ' does not. -#}
{% macro words(expression) -%}
    {{ return(adapter.dispatch('words', 'leadops')(expression)) }}
{%- endmacro %}

{% macro default__words(expression) -%}
    {{ dbt.concat(["' '", "trim(regexp_replace(lower(coalesce(" ~ expression ~ ", '')), '[^a-z0-9]+', ' '))", "' '"]) }}
{%- endmacro %}

{#- DuckDB's regexp_replace replaces the first match unless told 'g'. -#}
{% macro duckdb__words(expression) -%}
    {{ dbt.concat(["' '", "trim(regexp_replace(lower(coalesce(" ~ expression ~ ", '')), '[^a-z0-9]+', ' ', 'g'))", "' '"]) }}
{%- endmacro %}

{#- True when the words of `text_expression` contain the words of `keyword_expression`. -#}
{% macro contains_words(text_expression, keyword_expression) -%}
    {{ dbt.position(leadops.words(keyword_expression), leadops.words(text_expression)) }} > 0
{%- endmacro %}

{#- Text as a number, null when it is not one ('1,5', 'n/a'): a custom field's value for `between`. -#}
{% macro number_or_null(expression) -%}
    {{ return(adapter.dispatch('number_or_null', 'leadops')(expression)) }}
{%- endmacro %}

{% macro default__number_or_null(expression) -%}
    try_cast({{ expression }} as {{ leadops.type_double() }})
{%- endmacro %}
