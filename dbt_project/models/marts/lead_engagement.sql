with

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

activity as (

    select * from {{ ref('int_lead_activity_summarised') }}

),

groups as (

    select * from {{ ref('int_engagement_groups_capped') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

bands as (

    select * from {{ ref('stg_config__engagement_tiers') }}

),

rule_points as (

    select
        leads.lead_id,
        coalesce(sum(groups.points), 0) as points_before_total_cap
    from leads
    left join groups
        on leads.lead_id = groups.lead_id
    group by leads.lead_id

),

capped as (

    select
        rule_points.lead_id,
        rule_points.points_before_total_cap,
        case
            when rule_points.points_before_total_cap > parameters.engagement_total_cap
                then {{ leadops.points('parameters.engagement_total_cap') }}
            else rule_points.points_before_total_cap
        end as engagement_points
    from rule_points
    cross join parameters

),

tiers as (

    {{ leadops.assign_band('capped', 'lead_id', 'engagement_points', 'engagement_tier', 'bands') }}

),

final as (

    select
        capped.lead_id,
        capped.engagement_points,
        capped.points_before_total_cap,
        tiers.label as engagement_tier,
        activity.engaged_events,
        activity.last_engaged_at,
        activity.events_last_7_days,
        activity.events_prior_28_days,
        activity.events_last_30_days
    from capped
    inner join tiers
        on capped.lead_id = tiers.lead_id and tiers.band_order = 1
    inner join activity
        on capped.lead_id = activity.lead_id

)

select * from final
