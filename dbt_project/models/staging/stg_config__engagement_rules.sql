with

source as (

    select * from {{ source('config', 'engagement_rules') }}

),

final as (

    select
        rule_name,
        event_type,
        url_contains,
        points,
        half_life_days,
        window_days,
        max_points,
        rule_group
    from source

)

select * from final
