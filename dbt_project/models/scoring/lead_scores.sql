with

fit as (

    select * from {{ ref('lead_fit') }}

),

engagement as (

    select * from {{ ref('lead_engagement') }}

),

negative as (

    select * from {{ ref('lead_negative_signals') }}

),

urgency as (

    select * from {{ ref('int_lead_urgency') }}

),

bands as (

    select * from {{ ref('stg_config__segment_thresholds') }}

),

lifted as (

    {{ leadops.leads_lifted_by_their_account('fit', ref('account_rollup'), ref('stg_config__parameters')) }}

),

points_before_bounds as (

    -- What the lead's factor rows (lead_score_factors) add up to before the floor and the ceiling,
    -- from the per-lead totals of each group instead of 13M factor rows; the check
    -- scores_are_the_sum_of_their_factors proves on every run that the two agree.
    {{ leadops.points_before_bounds('fit', 'engagement', 'negative', 'lifted') }}

),

totals as (

    -- The score lives on 0..100, as the score_floor and score_ceiling factors say.
    select
        lead_id,
        case
            when points < 0 then 0
            when points > 100 then 100
            else points
        end as score
    from points_before_bounds

),

segments as (

    {{ leadops.assign_band('totals', 'lead_id', 'score', 'segment', 'bands') }}

),

final as (

    select
        fit.lead_id,
        fit.email,
        fit.first_name,
        fit.last_name,
        fit.company_name,
        fit.account_domain,
        {{ leadops.points('totals.score') }} as score,
        fit.fit_points,
        fit.fit_grade,
        engagement.engagement_points,
        engagement.engagement_tier,
        {{ dbt.concat(['fit.fit_grade', 'engagement.engagement_tier']) }} as score_label,
        negative.negative_points,
        negative.is_disqualified,
        negative.disqualified_by,
        case when negative.is_disqualified then 'disqualified' else segments.label end as segment,
        urgency.hot_trigger is not null and not negative.is_disqualified as is_hot,
        case when not negative.is_disqualified then urgency.hot_trigger end as hot_trigger,
        urgency.engagement_velocity,
        {{ leadops.as_of_date() }} as as_of_date
    from fit
    inner join totals
        on fit.lead_id = totals.lead_id
    inner join engagement
        on fit.lead_id = engagement.lead_id
    inner join negative
        on fit.lead_id = negative.lead_id
    inner join segments
        on fit.lead_id = segments.lead_id and segments.band_order = 1
    inner join urgency
        on fit.lead_id = urgency.lead_id

)

select * from final
