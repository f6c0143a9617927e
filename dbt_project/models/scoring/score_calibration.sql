with

scores as (

    select * from {{ ref('lead_scores') }}

),

conversions as (

    -- Outcomes known by the as_of date only.
    select
        lead_id,
        {{ dbt.bool_or('is_won') }} as is_won,
        {{ dbt.bool_or("stage = 'opportunity'") }} as is_opportunity
    from {{ ref('stg_raw__conversions') }}
    where cast(occurred_at as date) <= {{ leadops.as_of_date() }}
    group by lead_id

),

outcomes as (

    select
        scores.segment,
        cast(floor(scores.score / 10) * 10 as integer) as score_band_low,
        coalesce(conversions.is_won, false) as is_won,
        coalesce(conversions.is_opportunity, false) as is_opportunity
    from scores
    left join conversions
        on scores.lead_id = conversions.lead_id

),

by_segment as (

    select
        'segment' as calibration_group,
        segment as bucket,
        count(*) as leads,
        sum(case when is_opportunity then 1 else 0 end) as opportunities,
        sum(case when is_won then 1 else 0 end) as won
    from outcomes
    group by segment

),

by_score_band as (

    select
        'score_band' as calibration_group,
        {{ dbt.concat([
            "cast(least(score_band_low, 90) as " ~ dbt.type_string() ~ ")",
            "'-'",
            "cast(least(score_band_low, 90) + 10 as " ~ dbt.type_string() ~ ")",
        ]) }} as bucket,
        count(*) as leads,
        sum(case when is_opportunity then 1 else 0 end) as opportunities,
        sum(case when is_won then 1 else 0 end) as won
    from outcomes
    group by least(score_band_low, 90)

),

final as (

    select
        {{ dbt.concat(['calibration_group', "':'", 'bucket']) }} as calibration_id,
        calibration_group,
        bucket,
        leads,
        opportunities,
        won,
        cast(won as {{ leadops.type_double() }}) / leads as win_rate,
        {{ leadops.as_of_date() }} as as_of_date
    from (
        select * from by_segment
        union all
        select * from by_score_band
    ) as calibration

)

select * from final
