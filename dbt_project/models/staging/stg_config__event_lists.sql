with

source as (

    select * from {{ source('config', 'event_lists') }}

),

final as (

    select
        list_name,
        value
    from source

)

select * from final
