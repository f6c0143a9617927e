with

fit as (

    select * from {{ ref('lead_fit') }}

),

fit_rules as (

    select * from {{ ref('int_fit_rules_matched') }}

),

engagement_rules as (

    select * from {{ ref('int_engagement_rules_applied') }}

),

engagement_groups as (

    select * from {{ ref('int_engagement_groups_capped') }}

),

engagement as (

    select * from {{ ref('lead_engagement') }}

),

resets as (

    select * from {{ ref('int_engagement_resets') }}

),

signal_rules as (

    select * from {{ ref('int_signal_rules_matched') }}

),

negative as (

    select * from {{ ref('lead_negative_signals') }}

),

lifted_accounts as (

    {{ leadops.leads_lifted_by_their_account('fit', ref('account_rollup'), ref('stg_config__parameters')) }}

),

rule_factors as (

    select
        lead_id,
        'fit' as factor_group,
        rule_name as factor,
        {{ leadops.points('points') }} as points,
        evidence
    from fit_rules

    union all
    select
        lead_id,
        'engagement' as factor_group,
        rule_name as factor,
        points,
        {{ dbt.concat([
            "cast(event_count as " ~ dbt.type_string() ~ ")",
            "' events, last '",
            "cast(cast(last_event_at as date) as " ~ dbt.type_string() ~ ")",
        ]) }} as evidence
    from engagement_rules

    union all
    -- Group and total caps are factors of their own, so the factors still add up.
    select
        lead_id,
        'engagement' as factor_group,
        {{ dbt.concat(["'group_cap:'", "rule_group"]) }} as factor,
        points - points_before_cap as points,
        {{ dbt.concat(["'group capped at '", "cast(points as " ~ dbt.type_string() ~ ")"]) }} as evidence
    from engagement_groups
    where points < points_before_cap

    union all
    select
        lead_id,
        'engagement' as factor_group,
        'engagement_total_cap' as factor,
        engagement_points - points_before_total_cap as points,
        {{ dbt.concat(["'capped at '", "cast(engagement_points as " ~ dbt.type_string() ~ ")"]) }} as evidence
    from engagement
    where engagement_points < points_before_total_cap

    union all
    select
        lead_id,
        'engagement' as factor_group,
        'engagement_reset' as factor,
        {{ leadops.points('0') }} as points,
        {{ dbt.concat([
            "'engagement before '",
            "cast(reset_at as " ~ dbt.type_string() ~ ")",
            "' reset by '",
            "reset_by",
        ]) }} as evidence
    from resets

    union all
    select
        lead_id,
        'account' as factor_group,
        'account_lift' as factor,
        {{ leadops.points('points') }} as points,
        evidence
    from lifted_accounts

    union all
    select
        lead_id,
        case when is_disqualifier then 'disqualifier' else 'negative' end as factor_group,
        rule_name as factor,
        case when is_disqualifier then {{ leadops.points('0') }} else points end as points,
        evidence
    from signal_rules

),

raw_totals as (

    -- From the per-lead totals of each group, as lead_scores adds them up, not by adding up the
    -- rows above again: a lead has a factor row when it matched a fit rule, earned engagement or
    -- lost it to a reset, was lifted by its account, or matched a signal rule.
    select
        totals.lead_id,
        totals.points as raw_points,
        (
            totals.fit_rules_matched > 0
            or totals.is_lifted
            or totals.lead_id in (select engagement_groups.lead_id from engagement_groups)
            or totals.lead_id in (select resets.lead_id from resets)
            or totals.lead_id in (select signal_rules.lead_id from signal_rules)
        ) as has_factors
    from ({{ leadops.points_before_bounds('fit', 'engagement', 'negative', 'lifted_accounts') }}) as totals

),

adjustments as (

    -- The score lives on 0..100: what falls outside is a factor too, and a lead that matched
    -- nothing says so, so every score, even zero, has a reason.
    select
        lead_id,
        'adjustment' as factor_group,
        case
            when raw_points < 0 then 'score_floor'
            when raw_points > 100 then 'score_ceiling'
            else 'no_matching_rules'
        end as factor,
        case
            when raw_points < 0 then -raw_points
            when raw_points > 100 then 100 - raw_points
            else 0
        end as points,
        {{ dbt.concat(["'sum of factors '", "cast(raw_points as " ~ dbt.type_string() ~ ")"]) }} as evidence
    from raw_totals
    where raw_points < 0 or raw_points > 100 or not has_factors

),

final as (

    select
        lead_id,
        factor_group,
        factor,
        {{ leadops.points('points') }} as points,
        evidence
    from rule_factors

    union all
    select
        lead_id,
        factor_group,
        factor,
        {{ leadops.points('points') }} as points,
        evidence
    from adjustments

)

select * from final
