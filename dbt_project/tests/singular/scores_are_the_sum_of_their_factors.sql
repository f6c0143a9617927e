{#- Every score lies in 0..100 and equals the sum of its rows in lead_score_factors, so that what
    `leadops explain` shows adds up to the score sales sees. -#}
{{ config(meta={'dagster': {'ref': {'name': 'lead_scores'}}}) }}

with

scores as (

    select * from {{ ref('lead_scores') }}

),

factor_sums as (

    select
        lead_id,
        sum(points) as points
    from {{ ref('lead_score_factors') }}
    group by lead_id

),

final as (

    select
        scores.lead_id,
        scores.score,
        'score outside 0..100 or unequal to its factors' as problem,
        coalesce(factor_sums.points, 0) as factor_sum
    from scores
    left join factor_sums on scores.lead_id = factor_sums.lead_id
    where
        scores.score is null
        or scores.score < 0
        or scores.score > 100
        or scores.score <> coalesce(factor_sums.points, 0)

)

select * from final
