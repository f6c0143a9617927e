with

events as (

    select * from {{ ref('int_activity_in_scope') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

final as (

    -- The events that can make a lead hot: the hot window and the prior days its velocity is
    -- compared with. A few weeks of a year's history, read five times by int_lead_urgency.
    select
        events.event_id,
        events.lead_id,
        events.event_type,
        events.occurred_at,
        events.url,
        events.campaign_id,
        events.days_before_as_of
    from events
    cross join parameters
    where events.days_before_as_of < parameters.hot_window_days + parameters.hot_prior_days

)

select * from final
