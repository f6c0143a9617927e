{#- One row per lead created by as_of: its CRM row, its account, what its title and text say.
    Carried from run to run (macros/carry_leads.sql): a run rewrites only the leads that changed. -#}
{%- set searchable_text = dbt.concat([
    "coalesce(leads.first_name, '')", "' '", "coalesce(leads.last_name, '')", "' '",
    "coalesce(leads.job_title, '')", "' '", "leads.email",
]) -%}
{{ config(
    pre_hook="{{ leadops.forget_stale_leads(ref('stg_raw__leads'), leadops.lead_enrichment_fingerprint(
        ref('stg_config__title_keywords'), ref('stg_config__domain_lists')
    )) }}",
    **leadops.carried_per_lead('lead_id')
) }}

with

leads_in_scope as (

    select * from {{ ref('stg_raw__leads') }}
    where cast(created_at as date) <= {{ leadops.as_of_date() }}

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

keywords as (

    select * from {{ ref('stg_config__title_keywords') }}

),

personal_domains as (

    select domain from {{ ref('stg_config__domain_lists') }}
    where list_name = 'personal_email'

),

leads as (

    -- The leads this run computes: on a nightly run, only those that changed.
    {{ leadops.leads_to_enrich('leads_in_scope', 'accounts') }}

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
        on
            keywords.dimension in ('seniority', 'department')
            and {{ leadops.contains_words('titles.job_title', 'keywords.keyword') }}

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

lead_words as (

    -- Each lead's text as words once, not once per keyword it is compared with.
    select
        leads.lead_id,
        {{ leadops.words(searchable_text) }} as searchable_words
    from leads

),

keyword_words as (

    select
        dimension,
        keyword,
        {{ leadops.words('keyword') }} as keyword_words
    from keywords
    where dimension in ('junk', 'job_applicant')

),

keyword_hits as (

    -- Junk and job-seeker words anywhere in the name, title or address.
    select
        lead_words.lead_id,
        keyword_words.dimension,
        min(keyword_words.keyword) as keyword
    from lead_words
    inner join keyword_words
        on {{ dbt.position('keyword_words.keyword_words', 'lead_words.searchable_words') }} > 0
    group by lead_words.lead_id, keyword_words.dimension

),

enriched as (

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
        -- The CRM row the lead is: the row whose custom fields the fit rules read.
        leads.ingest_batch_id,
        leads.ingest_line_number,
        accounts.industry,
        accounts.employees,
        accounts.annual_revenue,
        junk.keyword as junk_keyword,
        applicant.keyword as applicant_keyword,
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
    left join keyword_hits as junk
        on leads.lead_id = junk.lead_id and junk.dimension = 'junk'
    left join keyword_hits as applicant
        on leads.lead_id = applicant.lead_id and applicant.dimension = 'job_applicant'

),

run_version as (

    -- Every row this run writes carries it: a downstream model recomputes a lead whose version moved.
    {%- set fingerprint = leadops.lead_enrichment_fingerprint(
        ref('stg_config__title_keywords'), ref('stg_config__domain_lists')
    ) %}
    {{ leadops.carried_run_version('leads_in_scope', 'accounts', fingerprint) }}

),

final as (

    select
        enriched.*,
        run_version.as_of_date as accumulated_as_of_date,
        run_version.batch_id as through_batch_id,
        run_version.fingerprint as configuration_fingerprint,
        run_version.row_version
    from enriched
    cross join run_version

)

select * from final
