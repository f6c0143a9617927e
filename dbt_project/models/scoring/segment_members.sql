with

scores as (

    select * from {{ ref('lead_scores') }}

),

lists as (

    select * from {{ ref('stg_config__segment_lists') }}

),

lifecycle as (

    -- Every lead is in exactly one lifecycle segment.
    select
        lead_id,
        segment,
        'lifecycle' as list_type,
        score,
        as_of_date
    from scores

),

campaign_lists as (

    -- Lists from scoring.yml; a disqualified lead is on none of them.
    select distinct
        scores.lead_id,
        lists.list_name as segment,
        'list' as list_type,
        scores.score,
        scores.as_of_date
    from scores
    inner join lists
        on
            (lists.segment is null or scores.segment = lists.segment)
            and (lists.fit_grade is null or scores.fit_grade = lists.fit_grade)
            and (not lists.is_hot_only or scores.is_hot)
    where not scores.is_disqualified

),

final as (

    select * from lifecycle
    union all
    select * from campaign_lists

)

select * from final
