with

leads as (

    select * from {{ ref('int_leads_enriched') }}
    where account_domain is not null

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

fit as (

    select
        lead_id,
        fit_points
    from {{ ref('lead_fit') }}

),

engagement as (

    select
        lead_id,
        engagement_points
    from {{ ref('lead_engagement') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

contacts as (

    select
        leads.account_domain,
        leads.lead_id,
        leads.department,
        leads.seniority,
        fit.fit_points,
        engagement.engagement_points,
        engagement.engagement_points >= parameters.account_engaged_min_points as is_engaged
    from leads
    inner join fit
        on leads.lead_id = fit.lead_id
    inner join engagement
        on leads.lead_id = engagement.lead_id
    cross join parameters

),

per_account as (

    select
        account_domain,
        count(*) as contacts,
        sum(case when is_engaged then 1 else 0 end) as engaged_contacts,
        count(distinct case when is_engaged and department <> 'unknown' then department end) as engaged_departments,
        count(distinct case when is_engaged and seniority <> 'unknown' then seniority end) as engaged_seniorities,
        max(fit_points) as account_fit_points,
        sum(engagement_points) as account_engagement_points
    from contacts
    group by account_domain

),

domains as (

    select company_domain as account_domain from accounts
    union
    select account_domain from per_account

),

final as (

    select
        domains.account_domain,
        accounts.company_name,
        accounts.industry,
        accounts.employees,
        accounts.annual_revenue,
        coalesce(accounts.is_customer, false) as is_customer,
        coalesce(per_account.contacts, 0) as contacts,
        coalesce(per_account.engaged_contacts, 0) as engaged_contacts,
        coalesce(per_account.engaged_departments, 0) as engaged_departments,
        coalesce(per_account.engaged_seniorities, 0) as engaged_seniorities,
        {{ leadops.points('coalesce(per_account.account_fit_points, 0)') }} as account_fit_points,
        {{ leadops.points('coalesce(per_account.account_engagement_points, 0)') }} as account_engagement_points,
        -- Account score: the best contact's fit plus the whole account's engagement, on 0..100.
        {{ leadops.points(
            'greatest(0, least(100, coalesce(per_account.account_fit_points, 0)'
            ~ ' + coalesce(per_account.account_engagement_points, 0)))'
        ) }} as account_score,
        coalesce(
            per_account.engaged_contacts >= parameters.account_mqa_min_engaged_contacts
            and per_account.engaged_departments >= parameters.account_mqa_min_departments,
            false
        ) as is_marketing_qualified
    from domains
    cross join parameters
    left join accounts
        on domains.account_domain = accounts.company_domain
    left join per_account
        on domains.account_domain = per_account.account_domain

)

select * from final
