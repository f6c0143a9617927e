{#- Every event known by the as_of date, for analysts: the whole history, so no model reads it
    (they read the carried state and int_events_windowed). -#}
{{ config(materialized='view') }}

with

events as (

    select * from {{ ref('stg_raw__activity') }}

),

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

final as (

    -- Point in time: only events on or before the as_of date, of leads that exist by then.
    select
        events.event_id,
        events.lead_id,
        events.event_type,
        events.occurred_at,
        events.url,
        events.campaign_id,
        {{ leadops.days_before_as_of('events.occurred_at') }} as days_before_as_of
    from events
    inner join leads
        on events.lead_id = leads.lead_id
    where cast(events.occurred_at as date) <= {{ leadops.as_of_date() }}

)

select * from final
