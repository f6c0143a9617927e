with

source as (

    select * from {{ source('raw', 'leads') }}

),

ranked as (

    -- A lead re-exported in a later file replaces its earlier row.
    select
        *,
        row_number() over (
            partition by lead_id order by _batch_id desc, _line_number desc
        ) as recency_rank
    from source

),

final as (

    select
        lead_id,
        email,
        {{ dbt.split_part('email', "'@'", 1) }} as email_local_part,
        {{ dbt.split_part('email', "'@'", 2) }} as email_domain,
        created_at,
        first_name,
        last_name,
        job_title,
        company_name,
        company_domain,
        _batch_id as ingest_batch_id,
        -- The file row the lead is: its custom fields are stg_raw__lead_attributes of that row.
        _line_number as ingest_line_number,
        upper(country) as country_code,
        lower(lead_source) as lead_source,
        coalesce(is_unsubscribed, false) as is_unsubscribed,
        coalesce(is_email_bounced, false) as is_email_bounced
    from ranked
    where recency_rank = 1

)

select * from final
