with

source as (

    select * from {{ source('raw', 'conversions') }}

),

ranked as (

    -- A lead reaches a stage once; the first time it did is the one that counts.
    select
        *,
        row_number() over (
            partition by lead_id, stage order by occurred_at, _batch_id, _line_number
        ) as stage_rank
    from source

),

final as (

    select
        {{ dbt.concat(["lead_id", "'|'", "stage"]) }} as conversion_id,
        lead_id,
        stage,
        occurred_at,
        amount,
        stage = 'closed_won' as is_won
    from ranked
    where stage_rank = 1

)

select * from final
