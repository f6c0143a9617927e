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
        lower(url) as url,
        -- The accumulated models count the events of newer batches on the next run.
        _batch_id as ingest_batch_id
    from source

)

select * from final
