{#- Who entered or left a lifecycle segment, or became hot or stopped being hot (segment 'hot'),
    since the previous as_of in the history: what alerts and "what changed since yesterday" read.
    Each run writes the changes of its own date. -#}
{{ config(unique_key=['lead_id', 'segment', 'as_of_date'], **leadops.one_slice_per_as_of()) }}

with

scores as (

    select * from {{ ref('lead_scores') }}

),

history as (

    select * from {{ ref('lead_score_history') }}

),

previous_date as (

    select max(as_of_date) as as_of_date
    from history
    where as_of_date < {{ leadops.as_of_date() }}

),

previous as (

    -- Lifecycle segments of the previous as_of, and 'hot' for the leads that were hot then.
    select
        history.lead_id,
        history.segment
    from history
    inner join previous_date
        on history.as_of_date = previous_date.as_of_date
    union all
    select
        history.lead_id,
        'hot' as segment
    from history
    inner join previous_date
        on history.as_of_date = previous_date.as_of_date
    where history.is_hot

),

current_members as (

    select
        lead_id,
        segment
    from scores
    union all
    select
        lead_id,
        'hot' as segment
    from scores
    where is_hot

),

entered as (

    select
        current_members.lead_id,
        current_members.segment,
        'entered' as change
    from current_members
    left join previous
        on current_members.lead_id = previous.lead_id and current_members.segment = previous.segment
    where previous.lead_id is null

),

left_segment as (

    select
        previous.lead_id,
        previous.segment,
        'left' as change
    from previous
    left join current_members
        on previous.lead_id = current_members.lead_id and previous.segment = current_members.segment
    where current_members.lead_id is null

),

final as (

    select
        changes.lead_id,
        changes.segment,
        changes.change,
        previous_date.as_of_date as previous_as_of_date,
        {{ leadops.as_of_date() }} as as_of_date
    from (
        select * from entered
        union all
        select * from left_segment
    ) as changes
    cross join previous_date

)

select * from final
