with

events as (

    select * from {{ ref('int_activity_in_scope') }}

),

rules as (

    select * from {{ ref('stg_config__engagement_rules') }}

),

resets as (

    select * from {{ ref('int_engagement_resets') }}

),

matched as (

    -- Each event earns the rule's points, halved every half_life_days (no half-life: no decay),
    -- if it falls inside the rule's window (no window: all history) and after the lead's last escape.
    select
        events.lead_id,
        rules.rule_name,
        rules.rule_group,
        rules.max_points,
        events.occurred_at,
        rules.points * case
            when rules.half_life_days is null then 1.0
            else power(0.5, cast(events.days_before_as_of as {{ leadops.type_double() }}) / rules.half_life_days)
        end as decayed_points
    from events
    inner join rules
        on
            events.event_type = rules.event_type
            and (
                rules.url_contains is null
                or {{ dbt.position('rules.url_contains', "coalesce(events.url, '')") }} > 0
            )
            and (rules.window_days is null or events.days_before_as_of <= rules.window_days)
    left join resets
        on events.lead_id = resets.lead_id
    where resets.reset_at is null or events.occurred_at > resets.reset_at

),

per_rule as (

    select
        lead_id,
        rule_name,
        max(rule_group) as rule_group,
        count(*) as event_count,
        max(occurred_at) as last_event_at,
        max(max_points) as max_points,
        sum(decayed_points) as decayed_points
    from matched
    group by lead_id, rule_name

),

final as (

    select
        lead_id,
        rule_name,
        rule_group,
        event_count,
        last_event_at,
        {{ leadops.points('decayed_points') }} as uncapped_points,
        {{ leadops.points(
            'case when decayed_points > max_points then max_points else decayed_points end'
        ) }}
            as points
    from per_rule

)

select * from final
