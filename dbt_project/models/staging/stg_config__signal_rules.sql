with

source as (

    select * from {{ source('config', 'signal_rules') }}

),

final as (

    select
        rule_name,
        signal,
        points,
        is_disqualifier
    from source

)

select * from final
