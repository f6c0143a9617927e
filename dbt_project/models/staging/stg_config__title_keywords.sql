with

source as (

    select * from {{ source('config', 'title_keywords') }}

),

final as (

    select
        dimension,
        value,
        keyword,
        priority
    from source

)

select * from final
