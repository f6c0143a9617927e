{#- One row per lead and as_of date: each lead's score, segment and hotness per run. -#}
{{ config(unique_key=['lead_id', 'as_of_date'], **leadops.one_slice_per_as_of()) }}

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
