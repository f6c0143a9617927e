{#- The sliding window holds each event of its days once, no more, no fewer: per day and event
    type, its rows equal the events of stg_raw__activity it should keep. A slide that appends a
    night twice, or forgets one, fails here. Counting per day and type over the history's date and
    type columns costs a fraction of grouping every event's id. -#}
{{ config(meta={'dagster': {'ref': {'name': 'int_events_windowed'}}}) }}

with

windowed as (

    select * from {{ ref('int_events_windowed') }}

),

window_length as (

    -- From the configuration, not from the window's rows: an empty window is checked too.
    select
        {{ leadops.activity_window_days() }} as window_days,
        {{ leadops.window_keeps_delivered_emails(ref('stg_config__event_lists')) }} as keeps_delivered_emails
    from {{ ref('stg_config__parameters') }}

),

expected as (

    select
        cast(events.occurred_at as date) as event_date,
        events.event_type,
        count(*) as events
    from {{ ref('stg_raw__activity') }} as events
    cross join window_length
    where
        events.occurred_at < {{ leadops.day_after_as_of() }}
        and events.occurred_at
        >= cast({{ dbt.dateadd('day', '1 - window_length.window_days', leadops.as_of_date()) }} as {{ dbt.type_timestamp() }})
        and (events.event_type <> 'email_delivered' or window_length.keeps_delivered_emails)
    group by cast(events.occurred_at as date), events.event_type

),

held as (

    select
        cast(occurred_at as date) as event_date,
        event_type,
        count(*) as events
    from windowed
    group by cast(occurred_at as date), event_type

),

final as (

    select
        coalesce(expected.event_date, held.event_date) as event_date,
        coalesce(expected.event_type, held.event_type) as event_type,
        coalesce(expected.events, 0) as expected_events,
        coalesce(held.events, 0) as held_events
    from expected
    full outer join held
        on expected.event_date = held.event_date and expected.event_type = held.event_type
    where coalesce(expected.events, 0) <> coalesce(held.events, 0)

)

select * from final
