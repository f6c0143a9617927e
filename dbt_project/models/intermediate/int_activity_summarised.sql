with

events as (

    select * from {{ ref('int_activity_in_scope') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

newsletters_delivered as (

    select
        lead_id,
        campaign_id,
        row_number() over (partition by lead_id order by max(occurred_at) desc, campaign_id) as recency_rank
    from events
    where event_type = 'email_delivered' and campaign_id is not null
    group by lead_id, campaign_id

),

newsletters_opened as (

    select distinct
        lead_id,
        campaign_id
    from events
    where event_type in ('email_open', 'email_click') and campaign_id is not null

),

recent_newsletters as (

    select
        delivered.lead_id,
        count(*) as recent_newsletters,
        count(opened.campaign_id) as recent_newsletters_opened
    from newsletters_delivered as delivered
    cross join parameters
    left join newsletters_opened as opened
        on delivered.lead_id = opened.lead_id and delivered.campaign_id = opened.campaign_id
    where delivered.recency_rank <= parameters.newsletters_ignored_count
    group by delivered.lead_id

),

activity as (

    -- A delivered email is something we did, not something the lead did.
    select
        lead_id,
        count(*) as engaged_events,
        max(occurred_at) as last_engaged_at,
        sum(case when days_before_as_of < 7 then 1 else 0 end) as events_last_7_days,
        sum(case when days_before_as_of between 7 and 34 then 1 else 0 end) as events_prior_28_days,
        sum(case when days_before_as_of < 30 then 1 else 0 end) as events_last_30_days,
        sum(
            case
                when event_type = 'page_view' and {{ dbt.position("'/careers'", "coalesce(url, '')") }} > 0 then 1 else
                    0
            end
        ) as careers_page_views,
        sum(case when event_type = 'unsubscribe' then 1 else 0 end) as unsubscribe_events
    from events
    where event_type <> 'email_delivered'
    group by lead_id

),

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

final as (

    select
        leads.lead_id,
        activity.last_engaged_at,
        coalesce(activity.engaged_events, 0) as engaged_events,
        coalesce(activity.events_last_7_days, 0) as events_last_7_days,
        coalesce(activity.events_prior_28_days, 0) as events_prior_28_days,
        coalesce(activity.events_last_30_days, 0) as events_last_30_days,
        coalesce(activity.careers_page_views, 0) as careers_page_views,
        coalesce(activity.unsubscribe_events, 0) > 0 as has_unsubscribe_event,
        coalesce(recent_newsletters.recent_newsletters, 0) as recent_newsletters,
        coalesce(recent_newsletters.recent_newsletters_opened, 0) as recent_newsletters_opened
    from leads
    left join activity
        on leads.lead_id = activity.lead_id
    left join recent_newsletters
        on leads.lead_id = recent_newsletters.lead_id

)

select * from final
