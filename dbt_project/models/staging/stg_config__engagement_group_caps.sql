with

source as (

    select * from {{ source('config', 'engagement_group_caps') }}

),

final as (

    select
        group_name,
        max_points
    from source

)

select * from final
