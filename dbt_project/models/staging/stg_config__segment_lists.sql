with

source as (

    select * from {{ source('config', 'segment_lists') }}

),

final as (

    select
        list_name,
        segment,
        fit_grade,
        requires_hot
    from source

)

select * from final
