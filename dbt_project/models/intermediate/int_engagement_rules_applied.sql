with

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

accumulated as (

    select * from {{ ref('int_engagement_rules_accumulated') }}

),

events as (

    select * from {{ ref('stg_raw__activity') }}

),

rules as (

    select * from {{ ref('stg_config__engagement_rules') }}

),

rule_points as (

    select * from {{ ref('stg_config__engagement_rule_points') }}

),

resets as (

    select * from {{ ref('int_engagement_resets') }}

),

carried as (

    -- Rules without a window: the lead's accumulated event weight, halved every half_life_days
    -- from the date it was computed for to this as_of date. Rows counted before the lead's latest escape
    -- are left behind by it.
    select
        accumulated.lead_id,
        accumulated.rule_name,
        accumulated.event_count,
        accumulated.last_event_at,
        {{ leadops.decayed_to_as_of('accumulated.decayed_events', 'rules.half_life_days', 'accumulated.accumulated_as_of_date') }}
            as decayed_events
    from accumulated
    inner join leads
        on accumulated.lead_id = leads.lead_id
    inner join rules
        on accumulated.rule_name = rules.rule_name and rules.window_days is null
    left join resets
        on accumulated.lead_id = resets.lead_id
    where
        accumulated.counted_after_reset_at = resets.reset_at
        or (accumulated.counted_after_reset_at is null and resets.reset_at is null)

),

windowed as (

    -- Rules with a window count the events inside it (window_days before as_of), on every run.
    select
        events.lead_id,
        rules.rule_name,
        count(*) as event_count,
        max(events.occurred_at) as last_event_at,
        sum({{ leadops.decayed_to_as_of('1.0', 'rules.half_life_days', 'cast(events.occurred_at as date)') }})
            as decayed_events
    from events
    inner join rules
        on
            events.event_type = rules.event_type
            and rules.window_days is not null
            and events.occurred_at
            >= cast({{ dbt.dateadd('day', '-rules.window_days', leadops.as_of_date()) }} as {{ dbt.type_timestamp() }})
            and (
                rules.url_contains is null
                or {{ dbt.position('rules.url_contains', "coalesce(events.url, '')") }} > 0
            )
    inner join leads
        on events.lead_id = leads.lead_id
    left join resets
        on events.lead_id = resets.lead_id
    where
        events.occurred_at < {{ leadops.day_after_as_of() }}
        and (resets.reset_at is null or events.occurred_at > resets.reset_at)
    group by events.lead_id, rules.rule_name

),

per_rule as (

    select * from carried

    union all

    select * from windowed

),

weighted as (

    -- Every counted event earns the rule's points, at the weight its age leaves it.
    select
        per_rule.lead_id,
        per_rule.rule_name,
        rule_points.rule_group,
        rule_points.max_points,
        per_rule.event_count,
        per_rule.last_event_at,
        rule_points.points * per_rule.decayed_events as decayed_points
    from per_rule
    inner join rule_points
        on per_rule.rule_name = rule_points.rule_name

),

final as (

    select
        lead_id,
        rule_name,
        rule_group,
        event_count,
        last_event_at,
        {{ leadops.points('decayed_points') }} as uncapped_points,
        {{ leadops.points('case when decayed_points > max_points then max_points else decayed_points end') }}
            as points
    from weighted

)

select * from final
