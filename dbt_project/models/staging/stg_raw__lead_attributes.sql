with

source as (

    select * from {{ source('raw', 'lead_attributes') }}

),

final as (

    select
        lead_id,
        attribute as field_name,
        value as field_value,
        _batch_id as ingest_batch_id,
        _line_number as ingest_line_number
    from source

)

select * from final
