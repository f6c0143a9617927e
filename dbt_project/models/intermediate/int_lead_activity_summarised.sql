{#- One row per lead in scope, computed on every run from the carried totals, the window of
    recent events and the newsletters: what the engagement and signal models read. -#}
with

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

totals as (

    select * from {{ ref('int_lead_event_totals_accumulated') }}

),

newsletters as (

    select * from {{ ref('int_newsletters_accumulated') }}

),

recent_events as (

    -- The activity window covers at least the last 35 days (int_events_windowed).
    select
        lead_id,
        {{ leadops.days_before_as_of('occurred_at') }} as days_before_as_of
    from {{ ref('int_events_windowed') }}
    where event_type <> 'email_delivered'

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

newsletters_delivered as (

    select
        lead_id,
        is_opened,
        row_number() over (partition by lead_id order by last_delivered_at desc, campaign_id asc) as recency_rank
    from newsletters
    where last_delivered_at is not null

),

recent_newsletters as (

    select
        newsletters_delivered.lead_id,
        count(*) as recent_newsletters,
        sum(case when newsletters_delivered.is_opened then 1 else 0 end) as recent_newsletters_opened
    from newsletters_delivered
    cross join parameters
    where newsletters_delivered.recency_rank <= parameters.newsletters_ignored_count
    group by newsletters_delivered.lead_id

),

recent_activity as (

    -- A delivered email is something we did, not something the lead did.
    select
        lead_id,
        sum(case when days_before_as_of < 7 then 1 else 0 end) as events_last_7_days,
        sum(case when days_before_as_of between 7 and 34 then 1 else 0 end) as events_prior_28_days,
        sum(case when days_before_as_of < 30 then 1 else 0 end) as events_last_30_days
    from recent_events
    group by lead_id

),

final as (

    select
        leads.lead_id,
        totals.last_engaged_at,
        coalesce(totals.engaged_events, 0) as engaged_events,
        coalesce(recent_activity.events_last_7_days, 0) as events_last_7_days,
        coalesce(recent_activity.events_prior_28_days, 0) as events_prior_28_days,
        coalesce(recent_activity.events_last_30_days, 0) as events_last_30_days,
        coalesce(totals.careers_page_views, 0) as careers_page_views,
        coalesce(totals.unsubscribe_events, 0) > 0 as has_unsubscribe_event,
        coalesce(recent_newsletters.recent_newsletters, 0) as recent_newsletters,
        coalesce(recent_newsletters.recent_newsletters_opened, 0) as recent_newsletters_opened
    from leads
    left join totals
        on leads.lead_id = totals.lead_id
    left join recent_activity
        on leads.lead_id = recent_activity.lead_id
    left join recent_newsletters
        on leads.lead_id = recent_newsletters.lead_id

)

select * from final
