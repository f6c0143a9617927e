with

source as (

    -- Ingest quarantines an event_id already loaded, so every event is here once.
    select * from {{ source('raw', 'activity') }}

),

final as (

    select
        event_id,
        lead_id,
        event_type,
        occurred_at,
        content_id,
        campaign_id,
        -- The accumulated models count the events of newer batches on the next run.
        _batch_id as ingest_batch_id,
        lower(url) as url
    from source

)

select * from final
