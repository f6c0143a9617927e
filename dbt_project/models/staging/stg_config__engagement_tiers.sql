with

source as (

    select * from {{ source('config', 'bands') }}

),

final as (

    select
        band_type,
        label,
        min_points,
        band_rank
    from source
    where band_type = 'engagement_tier'

)

select * from final
