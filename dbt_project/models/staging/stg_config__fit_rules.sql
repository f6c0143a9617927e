with

source as (

    select * from {{ source('config', 'fit_rules') }}

),

final as (

    select
        rule_name,
        attribute,
        match_type,
        match_value,
        range_low,
        range_high,
        points
    from source

)

select * from final
