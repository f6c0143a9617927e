with

source as (

    select * from {{ source('raw', 'accounts') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by company_domain order by _batch_id desc, _line_number desc
        ) as recency_rank
    from source

),

final as (

    select
        company_domain,
        company_name,
        employees,
        annual_revenue,
        _batch_id as ingest_batch_id,
        lower(trim(industry)) as industry,
        upper(country) as country_code,
        coalesce(is_customer, false) as is_customer
    from ranked
    where recency_rank = 1

)

select * from final
