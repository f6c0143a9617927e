with

leads as (

    select * from {{ ref('int_leads_enriched') }}

),

activity as (

    select * from {{ ref('int_lead_activity_summarised') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

competitor_domains as (

    select domain from {{ ref('stg_config__domain_lists') }}
    where list_name = 'competitor'

),

lead_facts as (

    select
        leads.lead_id,
        leads.email_domain,
        leads.is_personal_email,
        leads.is_unsubscribed,
        leads.is_email_bounced,
        leads.created_at,
        competitor_domains.domain as competitor_domain,
        leads.junk_keyword,
        leads.applicant_keyword,
        activity.careers_page_views,
        activity.has_unsubscribe_event,
        activity.recent_newsletters,
        activity.recent_newsletters_opened,
        activity.last_engaged_at,
        parameters.newsletters_ignored_count,
        parameters.dormant_days,
        parameters.careers_page_views as careers_page_views_threshold
    from leads
    inner join activity
        on leads.lead_id = activity.lead_id
    cross join parameters
    left join competitor_domains
        on coalesce(leads.account_domain, leads.email_domain) = competitor_domains.domain

),

signals as (

    select
        lead_id,
        'personal_email' as signal,
        email_domain as evidence
    from lead_facts
    where is_personal_email

    union all
    select
        lead_id,
        'competitor' as signal,
        competitor_domain as evidence
    from lead_facts
    where competitor_domain is not null

    union all
    select
        lead_id,
        'unsubscribed' as signal,
        case when is_unsubscribed then 'unsubscribed in the CRM' else 'unsubscribe event' end as evidence
    from lead_facts
    where is_unsubscribed or has_unsubscribe_event

    union all
    select
        lead_id,
        'email_bounced' as signal,
        'email bounced' as evidence
    from lead_facts
    where is_email_bounced

    union all
    select
        lead_id,
        'junk' as signal,
        {{ dbt.concat(["'matched \"'", "junk_keyword", "'\"'"]) }} as evidence
    from lead_facts
    where junk_keyword is not null

    union all
    select
        lead_id,
        'job_applicant' as signal,
        case
            when applicant_keyword is not null then {{ dbt.concat(["'matched \"'", "applicant_keyword", "'\"'"]) }}
            else {{ dbt.concat(["cast(careers_page_views as " ~ dbt.type_string() ~ ")", "' careers page views'"]) }}
        end as evidence
    from lead_facts
    where applicant_keyword is not null or careers_page_views >= careers_page_views_threshold

    union all
    select
        lead_id,
        'newsletters_ignored' as signal,
        {{ dbt.concat([
            "'no opens in the last '",
            "cast(recent_newsletters as " ~ dbt.type_string() ~ ")",
            "' newsletters'",
        ]) }} as evidence
    from lead_facts
    where recent_newsletters >= newsletters_ignored_count and recent_newsletters_opened = 0

    union all
    select
        lead_id,
        'dormant' as signal,
        case
            when last_engaged_at is null then 'no activity since created'
            else
                {{ dbt.concat(["'last active '", "cast(cast(last_engaged_at as date) as " ~ dbt.type_string() ~ ")"]) }}
        end as evidence
    from lead_facts
    where {{ leadops.days_before_as_of('coalesce(last_engaged_at, created_at)') }} > dormant_days

),

final as (

    select
        lead_id,
        signal,
        evidence
    from signals

)

select * from final
