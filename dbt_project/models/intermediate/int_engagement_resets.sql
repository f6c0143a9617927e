with

events as (

    select * from {{ ref('int_activity_in_scope') }}

),

escape_types as (

    select value as event_type from {{ ref('stg_config__event_lists') }}
    where list_name = 'escape_event_type'

),

ranked as (

    -- The lead's latest escape: what it engaged with before then no longer counts.
    select
        events.lead_id,
        events.occurred_at as reset_at,
        events.event_type as reset_by,
        row_number() over (partition by events.lead_id order by events.occurred_at desc, events.event_id asc) as recency
    from events
    inner join escape_types
        on events.event_type = escape_types.event_type

),

final as (

    select
        lead_id,
        reset_at,
        reset_by
    from ranked
    where recency = 1

)

select * from final
