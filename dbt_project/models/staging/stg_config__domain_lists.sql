with

source as (

    select * from {{ source('config', 'domain_lists') }}

),

final as (

    select
        list_name,
        domain
    from source

)

select * from final
