with

rules_applied as (

    select * from {{ ref('int_engagement_rules_applied') }}

),

caps as (

    select * from {{ ref('stg_config__engagement_group_caps') }}

),

groups as (

    -- Rules without a group are not capped together.
    select
        rules_applied.lead_id,
        coalesce(rules_applied.rule_group, rules_applied.rule_name) as rule_group,
        max(caps.max_points) as max_points,
        sum(rules_applied.points) as points_before_cap
    from rules_applied
    left join caps
        on rules_applied.rule_group = caps.group_name
    group by rules_applied.lead_id, coalesce(rules_applied.rule_group, rules_applied.rule_name)

),

final as (

    select
        lead_id,
        rule_group,
        points_before_cap,
        case
            when points_before_cap > max_points then {{ leadops.points('max_points') }}
            else points_before_cap
        end as points
    from groups

)

select * from final
