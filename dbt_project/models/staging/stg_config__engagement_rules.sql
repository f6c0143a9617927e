{#- Which events each engagement rule counts, and how fast they age: what the accumulated
    engagement state depends on. What a counted event is worth is stg_config__engagement_rule_points,
    so that a change of points or caps re-weights the state instead of recounting the history. -#}
with

source as (

    select * from {{ source('config', 'engagement_rules') }}

),

final as (

    select
        rule_name,
        event_type,
        url_contains,
        half_life_days,
        window_days
    from source

)

select * from final
