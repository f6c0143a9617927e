{#- One row per lead and newsletter campaign: when it was last delivered and whether it was opened. -#}
{{ config(pre_hook="{{ leadops.forget_stale_accumulation() }}", **leadops.accumulated(['lead_id', 'campaign_id'])) }}

with

-- The raw activity is passed to each scan of it, not read through an import CTE: DuckDB would
-- materialize a CTE that two others read, the whole history.

{% if is_incremental() -%}
carried as (

    select * from {{ this }}

),

{% endif -%}
new_events as (

    {{ leadops.events_not_yet_accumulated(ref('stg_raw__activity'), 'carried') }}

),

new_campaigns as (

    select
        lead_id,
        campaign_id,
        max(case when event_type = 'email_delivered' then occurred_at end) as last_delivered_at,
        max(case when event_type in ('email_open', 'email_click') then 1 else 0 end) as opened
    from new_events
    where campaign_id is not null and event_type in ('email_delivered', 'email_open', 'email_click')
    group by lead_id, campaign_id

),

campaigns as (

    select * from new_campaigns
    {%- if is_incremental() %}

    union all

    select
        carried.lead_id,
        carried.campaign_id,
        carried.last_delivered_at,
        case when carried.is_opened then 1 else 0 end as opened
    from carried
    inner join new_campaigns
        on carried.lead_id = new_campaigns.lead_id and carried.campaign_id = new_campaigns.campaign_id
    {%- endif %}

),

final as (

    select
        lead_id,
        campaign_id,
        max(last_delivered_at) as last_delivered_at,
        max(opened) = 1 as is_opened,
        {{ leadops.as_of_date() }} as accumulated_as_of_date,
        {{ leadops.last_ingest_batch(ref('stg_raw__activity')) }} as through_batch_id
    from campaigns
    group by lead_id, campaign_id

)

select * from final
