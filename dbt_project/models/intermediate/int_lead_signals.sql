{%- set searchable_text = dbt.concat([
    "coalesce(leads.first_name, '')", "' '", "coalesce(leads.last_name, '')", "' '",
    "coalesce(leads.job_title, '')", "' '", "leads.email",
]) -%}

with

leads as (

    select * from {{ ref('int_leads_enriched') }}

),

activity as (

    select * from {{ ref('int_activity_summarised') }}

),

parameters as (

    select * from {{ ref('stg_config__parameters') }}

),

competitor_domains as (

    select domain from {{ ref('stg_config__domain_lists') }}
    where list_name = 'competitor'

),

keywords as (

    select * from {{ ref('stg_config__title_keywords') }}
    where dimension in ('junk', 'job_applicant')

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

lead_facts as (

    select
        leads.lead_id,
        leads.email_domain,
        leads.is_personal_email,
        leads.is_unsubscribed,
        leads.is_email_bounced,
        leads.created_at,
        competitor_domains.domain as competitor_domain,
        junk.keyword as junk_keyword,
        applicant.keyword as applicant_keyword,
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
    left join keyword_hits as junk
        on leads.lead_id = junk.lead_id and junk.dimension = 'junk'
    left join keyword_hits as applicant
        on leads.lead_id = applicant.lead_id and applicant.dimension = 'job_applicant'

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
