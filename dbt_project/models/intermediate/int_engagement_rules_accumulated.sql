{#- Per lead and windowless engagement rule: the events since the lead's latest escape, each
    weighing 1 halved every half_life_days, summed and decayed to the row's as_of date. Points
    multiply the weight where it is read (int_engagement_rules_applied), so only a change of what
    a rule counts, or of its half-life, recounts the history. -#}
{{ config(
    pre_hook=[
        "{{ leadops.add_column_to_carried('decayed_events', leadops.type_double()) }}",
        "{{ leadops.forget_stale_accumulation(leadops.engagement_configuration_fingerprint(
            ref('stg_config__engagement_rules'), ref('stg_config__event_lists')
        )) }}",
    ],
    **leadops.accumulated(['lead_id', 'rule_name'], on_schema_change='sync_all_columns')
) }}

with

-- The raw activity is passed to each scan of it, not through an import CTE that DuckDB would
-- materialize, the whole history (events_not_yet_accumulated).

rules as (

    -- A rule with a window reads the events inside it on every run (int_engagement_rules_applied).
    select * from {{ ref('stg_config__engagement_rules') }}
    where window_days is null

),

resets as (

    select
        lead_id,
        reset_at
    from {{ ref('int_lead_event_totals_accumulated') }}
    where reset_at is not null

),

-- What the points were counted under; the pre-hook rebuilds them when it changes.
configuration as (

    {{ leadops.engagement_configuration_fingerprint(
        ref('stg_config__engagement_rules'), ref('stg_config__event_lists')
    ) }} as fingerprint

),

{% if is_incremental() -%}
carried as (

    select * from {{ this }}

),

{% endif -%}
new_events as (

    {{ leadops.events_not_yet_accumulated(ref('stg_raw__activity'), 'carried') }}

),

{% if is_incremental() -%}
escape_types as (

    {{ leadops.escape_types_query(ref('stg_config__event_lists')) }}

),

recounted_leads as (

    -- A new escape wipes what the lead earned before it, also before the last run: its whole
    -- history is counted again. Escapes are rare, so this stays a few leads.
    select distinct new_events.lead_id
    from new_events
    inner join escape_types
        on new_events.event_type = escape_types.value

),
{%- endif %}

counted_events as (

    select new_events.*
    from new_events
    {%- if is_incremental() %}
    left join recounted_leads
        on new_events.lead_id = recounted_leads.lead_id
    where recounted_leads.lead_id is null

    union all

    select events.*
    from {{ ref('stg_raw__activity') }} as events
    inner join recounted_leads
        on events.lead_id = recounted_leads.lead_id
    where events.occurred_at < {{ leadops.day_after_as_of() }}
    {%- endif %}

),

matched as (

    -- Each event weighs 1, halved every half_life_days (no half-life: no decay), if it happened
    -- after the lead's latest escape.
    select
        counted_events.lead_id,
        rules.rule_name,
        resets.reset_at as counted_after_reset_at,
        counted_events.occurred_at,
        {{ leadops.decayed_to_as_of('1.0', 'rules.half_life_days', 'cast(counted_events.occurred_at as date)') }}
            as decayed_events
    from counted_events
    inner join rules
        on
            counted_events.event_type = rules.event_type
            and (
                rules.url_contains is null
                or {{ dbt.position('rules.url_contains', "coalesce(counted_events.url, '')") }} > 0
            )
    left join resets
        on counted_events.lead_id = resets.lead_id
    where resets.reset_at is null or counted_events.occurred_at > resets.reset_at

),

new_per_rule as (

    select
        lead_id,
        rule_name,
        counted_after_reset_at,
        count(*) as event_count,
        max(occurred_at) as last_event_at,
        sum(decayed_events) as decayed_events
    from matched
    group by lead_id, rule_name, counted_after_reset_at

),

{% if is_incremental() -%}
carried_per_rule as (

    -- What the lead had earned by the rules it earned more of tonight, brought to this as_of date.
    -- A row counted before the lead's latest escape no longer counts (readers skip such rows too).
    select
        carried.lead_id,
        carried.rule_name,
        carried.counted_after_reset_at,
        carried.event_count,
        carried.last_event_at,
        {{ leadops.decayed_to_as_of('carried.decayed_events', 'rules.half_life_days', 'carried.accumulated_as_of_date') }}
            as decayed_events
    from carried
    inner join new_per_rule
        on carried.lead_id = new_per_rule.lead_id and carried.rule_name = new_per_rule.rule_name
    inner join rules
        on carried.rule_name = rules.rule_name
    left join resets
        on carried.lead_id = resets.lead_id
    left join recounted_leads
        on carried.lead_id = recounted_leads.lead_id
    where
        recounted_leads.lead_id is null
        and (
            carried.counted_after_reset_at = resets.reset_at
            or (carried.counted_after_reset_at is null and resets.reset_at is null)
        )

),
{%- endif %}

per_rule as (

    select * from new_per_rule
    {%- if is_incremental() %}

    union all

    select * from carried_per_rule
    {%- endif %}

),

final as (

    select
        lead_id,
        rule_name,
        counted_after_reset_at,
        sum(event_count) as event_count,
        max(last_event_at) as last_event_at,
        sum(decayed_events) as decayed_events,
        {{ leadops.as_of_date() }} as accumulated_as_of_date,
        {{ leadops.last_ingest_batch(ref('stg_raw__activity')) }} as through_batch_id,
        (select configuration.fingerprint from configuration) as configuration_fingerprint
    from per_rule
    group by lead_id, rule_name, counted_after_reset_at

)

select * from final
