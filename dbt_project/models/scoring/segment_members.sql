with

scores as (

    select * from {{ ref('lead_scores') }}

),

final as (

    select
        lead_id,
        segment,
        score,
        as_of_date
    from scores

)

select * from final
