with

source as (

    select * from {{ source('raw', 'activity') }}

),

ranked as (

    -- The same event delivered twice (in one file or across files) counts once.
    select
        *,
        row_number() over (
            partition by event_id order by _batch_id, _line_number
        ) as delivery_rank
    from source

),

final as (

    select
        event_id,
        lead_id,
        event_type,
        occurred_at,
        content_id,
        campaign_id,
        lower(url) as url
    from ranked
    where delivery_rank = 1

)

select * from final
