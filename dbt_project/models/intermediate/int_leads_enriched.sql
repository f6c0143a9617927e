with

leads as (

    select * from {{ ref('stg_raw__leads') }}
    where cast(created_at as date) <= {{ leadops.as_of_date() }}

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

keywords as (

    select * from {{ ref('stg_config__title_keywords') }}
    where dimension in ('seniority', 'department')

),

personal_domains as (

    select domain from {{ ref('stg_config__domain_lists') }}
    where list_name = 'personal_email'

),

titles as (

    -- Titles repeat a lot: match keywords once per distinct title, not once per lead.
    select distinct job_title from leads
    where job_title is not null

),

title_matches as (

    select
        titles.job_title,
        keywords.dimension,
        keywords.value,
        row_number() over (
            partition by titles.job_title, keywords.dimension
            order by keywords.priority, keywords.keyword
        ) as match_rank
    from titles
    inner join keywords
        on {{ leadops.contains_words('titles.job_title', 'keywords.keyword') }}

),

title_roles as (

    select
        job_title,
        max(case when dimension = 'seniority' then value end) as seniority,
        max(case when dimension = 'department' then value end) as department
    from title_matches
    where match_rank = 1
    group by job_title

),

final as (

    select
        leads.lead_id,
        leads.email,
        leads.email_local_part,
        leads.email_domain,
        leads.created_at,
        leads.first_name,
        leads.last_name,
        leads.job_title,
        leads.lead_source,
        leads.is_unsubscribed,
        leads.is_email_bounced,
        accounts.industry,
        accounts.employees,
        accounts.annual_revenue,
        personal_domains.domain is not null as is_personal_email,
        -- A lead without a company domain belongs to the company of its work address.
        coalesce(
            leads.company_domain,
            case when personal_domains.domain is null then leads.email_domain end
        ) as account_domain,
        coalesce(accounts.company_name, leads.company_name) as company_name,
        coalesce(leads.country_code, accounts.country_code) as country_code,
        coalesce(accounts.is_customer, false) as is_customer,
        coalesce(title_roles.seniority, 'unknown') as seniority,
        coalesce(title_roles.department, 'unknown') as department
    from leads
    left join personal_domains
        on leads.email_domain = personal_domains.domain
    left join accounts
        on
            coalesce(
                leads.company_domain,
                case when personal_domains.domain is null then leads.email_domain end
            ) = accounts.company_domain
    left join title_roles
        on leads.job_title = title_roles.job_title

)

select * from final
