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
    where band_type = 'fit_grade'

)

select * from final
