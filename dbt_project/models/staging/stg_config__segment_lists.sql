with

source as (

    select * from {{ source('config', 'segment_lists') }}

),

final as (

    select
        list_name,
        segment,
        fit_grade,
        is_hot_only
    from source

)

select * from final
