{#- What an event a rule counts is worth: its points, the rule's cap and its group. -#}
with

source as (

    select * from {{ source('config', 'engagement_rules') }}

),

final as (

    select
        rule_name,
        rule_group,
        points,
        max_points
    from source

)

select * from final
