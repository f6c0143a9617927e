with

leads as (

    select * from {{ ref('int_leads_enriched') }}

),

matched as (

    select * from {{ ref('int_fit_rules_matched') }}

),

bands as (

    select * from {{ ref('stg_config__fit_grades') }}

),

fit_points as (

    select
        leads.lead_id,
        coalesce(sum(matched.points), 0) as fit_points,
        count(matched.rule_name) as fit_rules_matched
    from leads
    left join matched
        on leads.lead_id = matched.lead_id
    group by leads.lead_id

),

grades as (

    {{ leadops.assign_band('fit_points', 'lead_id', 'fit_points', 'fit_grade', 'bands') }}

),

final as (

    select
        leads.lead_id,
        leads.email,
        leads.first_name,
        leads.last_name,
        leads.job_title,
        leads.seniority,
        leads.department,
        leads.account_domain,
        leads.company_name,
        leads.industry,
        leads.employees,
        leads.annual_revenue,
        leads.country_code,
        leads.is_customer,
        {{ leadops.points('fit_points.fit_points') }} as fit_points,
        fit_points.fit_rules_matched,
        grades.label as fit_grade
    from leads
    inner join fit_points
        on leads.lead_id = fit_points.lead_id
    inner join grades
        on leads.lead_id = grades.lead_id and grades.band_order = 1

)

select * from final
