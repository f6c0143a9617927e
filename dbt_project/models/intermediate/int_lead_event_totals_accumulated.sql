{#- One row per lead with events: its event totals up to the as_of date and its latest escape,
    carried from run to run (macros/accumulate.sql). -#}
{{ config(
    pre_hook="{{ leadops.forget_stale_accumulation(
        leadops.escape_configuration_fingerprint(ref('stg_config__event_lists'))
    ) }}",
    **leadops.accumulated('lead_id')
) }}

with

-- The raw activity is passed to each scan of it, not read through an import CTE: DuckDB would
-- materialize a CTE that two others read, the whole history.

escape_types as (

    select value as event_type from {{ ref('stg_config__event_lists') }}
    where list_name = 'escape_event_type'

),

-- What the totals were counted under; the pre-hook rebuilds them when it changes.
configuration as (

    {{ leadops.escape_configuration_fingerprint(ref('stg_config__event_lists')) }} as fingerprint

),

{% if is_incremental() -%}
carried as (

    select * from {{ this }}

),

{% endif -%}
new_events as (

    {{ leadops.events_not_yet_accumulated(ref('stg_raw__activity'), 'carried') }}

),

new_totals as (

    -- A delivered email is something we did, not something the lead did.
    select
        lead_id,
        sum(case when event_type <> 'email_delivered' then 1 else 0 end) as engaged_events,
        max(case when event_type <> 'email_delivered' then occurred_at end) as last_engaged_at,
        sum(
            case
                when event_type = 'page_view' and {{ dbt.position("'/careers'", "coalesce(url, '')") }} > 0 then 1 else
                    0
            end
        ) as careers_page_views,
        sum(case when event_type = 'unsubscribe' then 1 else 0 end) as unsubscribe_events
    from new_events
    group by lead_id

),

new_escape_events as (

    -- A scan of its own (rare rows), so that new_events is read once.
    {{ leadops.events_not_yet_accumulated(ref('stg_raw__activity'), 'carried') }}

),

new_escapes as (

    select
        new_escape_events.lead_id,
        new_escape_events.occurred_at as reset_at,
        new_escape_events.event_id as reset_event_id,
        new_escape_events.event_type as reset_by
    from new_escape_events
    inner join escape_types
        on new_escape_events.event_type = escape_types.event_type

),

totals_to_add as (

    select
        lead_id,
        engaged_events,
        last_engaged_at,
        careers_page_views,
        unsubscribe_events
    from new_totals
    {%- if is_incremental() %}

    union all

    select
        carried.lead_id,
        carried.engaged_events,
        carried.last_engaged_at,
        carried.careers_page_views,
        carried.unsubscribe_events
    from carried
    inner join new_totals
        on carried.lead_id = new_totals.lead_id
    {%- endif %}

),

escapes as (

    select * from new_escapes
    {%- if is_incremental() %}

    union all

    select
        carried.lead_id,
        carried.reset_at,
        carried.reset_event_id,
        carried.reset_by
    from carried
    inner join new_totals
        on carried.lead_id = new_totals.lead_id
    where carried.reset_at is not null
    {%- endif %}

),

totals as (

    select
        lead_id,
        sum(engaged_events) as engaged_events,
        max(last_engaged_at) as last_engaged_at,
        sum(careers_page_views) as careers_page_views,
        sum(unsubscribe_events) as unsubscribe_events
    from totals_to_add
    group by lead_id

),

latest_escapes as (

    -- The lead's latest escape: what it engaged with before then no longer counts.
    select
        lead_id,
        reset_at,
        reset_event_id,
        reset_by,
        row_number() over (partition by lead_id order by reset_at desc, reset_event_id asc) as recency
    from escapes

),

final as (

    select
        totals.lead_id,
        totals.engaged_events,
        totals.last_engaged_at,
        totals.careers_page_views,
        totals.unsubscribe_events,
        latest_escapes.reset_at,
        latest_escapes.reset_event_id,
        latest_escapes.reset_by,
        {{ leadops.as_of_date() }} as accumulated_as_of_date,
        {{ leadops.last_ingest_batch(ref('stg_raw__activity')) }} as through_batch_id,
        (select configuration.fingerprint from configuration) as configuration_fingerprint
    from totals
    left join latest_escapes
        on totals.lead_id = latest_escapes.lead_id and latest_escapes.recency = 1

)

select * from final
