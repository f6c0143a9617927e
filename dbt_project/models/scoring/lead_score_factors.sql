with

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

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

lifted_accounts as (

    select
        leads.lead_id,
        parameters.account_lift_points as points,
        {{ dbt.concat([
            "accounts.account_domain",
            "': '",
            "cast(accounts.engaged_contacts as " ~ dbt.type_string() ~ ")",
            "' engaged contacts in '",
            "cast(accounts.engaged_departments as " ~ dbt.type_string() ~ ")",
            "' departments'",
        ]) }} as evidence
    from {{ ref('int_leads_enriched') }} as leads
    inner join {{ ref('account_rollup') }} as accounts
        on leads.account_domain = accounts.account_domain
    cross join {{ ref('stg_config__parameters') }} as parameters
    where accounts.is_marketing_qualified

),

signal_rules as (

    select * from {{ ref('int_signal_rules_matched') }}

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

    select
        leads.lead_id,
        coalesce(sum(rule_factors.points), 0) as raw_points,
        count(rule_factors.factor) as factor_count
    from leads
    left join rule_factors
        on leads.lead_id = rule_factors.lead_id
    group by leads.lead_id

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
    where raw_points < 0 or raw_points > 100 or factor_count = 0

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
