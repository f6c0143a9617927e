with

-- The activity window is read twice, by `recent` and `velocity`, not through one import CTE: DuckDB
-- would materialize a CTE that two others read, weeks of events.

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

event_lists as (

    select * from {{ ref('stg_config__event_lists') }}

),

recent as (

    select window_events.*
    from {{ ref('int_events_windowed') }} as window_events
    cross join parameters
    where {{ leadops.days_before_as_of('window_events.occurred_at') }} < parameters.hot_window_days

),

trigger_events_ranked as (

    select
        recent.lead_id,
        recent.event_type,
        recent.occurred_at,
        row_number() over (
            partition by recent.lead_id order by recent.occurred_at desc, recent.event_type asc
        ) as recency_rank
    from recent
    inner join event_lists
        on event_lists.list_name = 'hot_event_type' and recent.event_type = event_lists.value

),

trigger_events as (

    -- The latest trigger event, named with its own date ("trial_signup on 2026-06-29").
    select
        lead_id,
        event_type,
        occurred_at
    from trigger_events_ranked
    where recency_rank = 1

),

page_view_hours as (

    select
        lead_id,
        {{ dbt.date_trunc('hour', 'occurred_at') }} as hour_started_at,
        count(*) as page_views
    from recent
    where event_type = 'page_view'
    group by lead_id, {{ dbt.date_trunc('hour', 'occurred_at') }}

),

bursts as (

    select
        page_view_hours.lead_id,
        max(page_view_hours.page_views) as page_views,
        max(page_view_hours.hour_started_at) as hour_started_at
    from page_view_hours
    cross join parameters
    where page_view_hours.page_views >= parameters.hot_burst_page_views_per_hour
    group by page_view_hours.lead_id

),

case_studies as (

    select
        recent.lead_id,
        count(*) as downloads
    from recent
    inner join event_lists
        on
            event_lists.list_name = 'case_study_url'
            and {{ dbt.position('event_lists.value', "coalesce(recent.url, '')") }} > 0
    where recent.event_type = 'content_download'
    group by recent.lead_id

),

trigger_pages as (

    select
        recent.lead_id,
        min(event_lists.value) as url
    from recent
    inner join event_lists
        on
            event_lists.list_name = 'hot_url'
            and {{ dbt.position('event_lists.value', "coalesce(recent.url, '')") }} > 0
    where recent.event_type = 'page_view'
    group by recent.lead_id

),

velocity as (

    -- Events per day in the window against the prior days before it (delivered emails excluded).
    select
        events.lead_id,
        sum(case when events.days_before_as_of < parameters.hot_window_days then 1 else 0 end) as recent_events,
        sum(
            case
                when
                    events.days_before_as_of >= parameters.hot_window_days
                    and events.days_before_as_of < parameters.hot_window_days + parameters.hot_prior_days
                    then 1
                else 0
            end
        ) as prior_events,
        max(parameters.hot_window_days) as window_days,
        max(parameters.hot_prior_days) as prior_days
    from (
        select
            lead_id,
            {{ leadops.days_before_as_of('occurred_at') }} as days_before_as_of
        from {{ ref('int_events_windowed') }}
        where event_type <> 'email_delivered'
    ) as events
    cross join parameters
    where events.days_before_as_of < parameters.hot_window_days + parameters.hot_prior_days
    group by events.lead_id

),

final as (

    select
        leads.lead_id,
        coalesce(velocity.recent_events, 0) as recent_events,
        coalesce(velocity.prior_events, 0) as prior_events,
        -- Recent rate over prior rate; with no prior activity, the recent rate over one event per prior period.
        cast(
            round(
                (cast(coalesce(velocity.recent_events, 0) as {{ leadops.type_double() }}) / parameters.hot_window_days)
                / (greatest(coalesce(velocity.prior_events, 0), 1) / parameters.hot_prior_days),
                2
            ) as decimal(12, 2)
        ) as engagement_velocity,
        case
            when trigger_events.lead_id is not null
                then {{ dbt.concat(["trigger_events.event_type", "' on '", "cast(cast(trigger_events.occurred_at as date) as " ~ dbt.type_string() ~ ")"]) }}
            when bursts.lead_id is not null
                then {{ dbt.concat(["cast(bursts.page_views as " ~ dbt.type_string() ~ ")", "' page views within an hour'"]) }}
            when case_studies.downloads >= parameters.hot_case_study_downloads
                then {{ dbt.concat(["cast(case_studies.downloads as " ~ dbt.type_string() ~ ")", "' case-study downloads'"]) }}
            when trigger_pages.lead_id is not null
                then {{ dbt.concat(["'visited '", "trigger_pages.url"]) }}
            when
                velocity.recent_events >= parameters.hot_velocity_min_events
                and cast(velocity.recent_events as {{ leadops.type_double() }}) / parameters.hot_window_days
                >= parameters.hot_velocity_ratio * velocity.prior_events / parameters.hot_prior_days
                then {{ dbt.concat([
                    "'engagement velocity: '",
                    "cast(velocity.recent_events as " ~ dbt.type_string() ~ ")",
                    "' events in the last window against '",
                    "cast(velocity.prior_events as " ~ dbt.type_string() ~ ")",
                    "' before'",
                ]) }}
        end as hot_trigger
    from leads
    cross join parameters
    left join velocity
        on leads.lead_id = velocity.lead_id
    left join trigger_events
        on leads.lead_id = trigger_events.lead_id
    left join bursts
        on leads.lead_id = bursts.lead_id
    left join case_studies
        on leads.lead_id = case_studies.lead_id
    left join trigger_pages
        on leads.lead_id = trigger_pages.lead_id

)

select * from final
