{#- Points are exact decimals with two places: sums are exact and do not depend on the order
    in which an engine adds them up, so the same inputs give the same scores byte for byte,
    and a lead's factor rows add up exactly to its score. A double is first made a decimal with six
    places: points carried from an earlier run and decayed since (macros/accumulate.sql) differ
    from a fresh sum in the 15th digit, and 5 points halved three times must be 0.63 both ways, not
    0.62 one way; rounding to cents is then decimal arithmetic, half away from zero, on every engine. -#}
{% macro points(expression) -%}
    cast(round(cast({{ expression }} as decimal(18, 6)), 2) as decimal(12, 2))
{%- endmacro %}

{#- The label of the first band (highest min_points first) that `points_column` reaches.
    `relation` must have `key_column` and `points_column`; `bands` is one band type's stg_config view, where the
    last band of each type is the catch-all. -#}
{% macro assign_band(relation, key_column, points_column, band_type, bands) -%}
    select
        scored.{{ key_column }},
        bands.label,
        row_number() over (partition by scored.{{ key_column }} order by bands.band_rank) as band_order
    from {{ relation }} as scored
    inner join {{ bands }} as bands
        on
            bands.band_type = '{{ band_type }}'
            and (bands.min_points is null or scored.{{ points_column }} >= bands.min_points)
{%- endmacro %}

{#- A 64-bit float on every engine (dbt.type_float() is 32-bit `float` on Spark). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'leadops')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}
