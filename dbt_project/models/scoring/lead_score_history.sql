{#- One row per lead and as_of date. A run replaces only its own date's rows, so history of past
    dates changes only when those dates are run again (`leadops backfill`), never silently. -#}
{{ config(
    materialized='incremental',
    unique_key=['lead_id', 'as_of_date'],
    incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'delete+insert'),
    partition_by=(['as_of_date'] if target.type == 'spark' else none),
    on_schema_change='fail',
) }}

with

scores as (

    select * from {{ ref('lead_scores') }}

),

final as (

    select
        lead_id,
        as_of_date,
        score,
        fit_grade,
        engagement_tier,
        score_label,
        segment,
        is_hot,
        hot_trigger
    from scores

)

select * from final
