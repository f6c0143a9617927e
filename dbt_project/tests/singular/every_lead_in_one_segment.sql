{#- Every scored lead is in exactly one lifecycle segment, so the segment counts add up to the lead
    count (no lead is in one without a score), and no disqualified lead is on a campaign list. -#}
{{ config(meta={'dagster': {'ref': {'name': 'segment_members'}}}) }}

with

members as (

    select * from {{ ref('segment_members') }}

),

scores as (

    select * from {{ ref('lead_scores') }}

),

lifecycle_counts as (

    select
        lead_id,
        count(*) as segments
    from members
    where list_type = 'lifecycle'
    group by lead_id

),

unsegmented as (

    select
        scores.lead_id,
        'in no lifecycle segment' as problem
    from scores
    left join lifecycle_counts on scores.lead_id = lifecycle_counts.lead_id
    where lifecycle_counts.lead_id is null

),

multiply_segmented as (

    select
        lead_id,
        {{ dbt.concat(["'in '", "cast(segments as " ~ dbt.type_string() ~ ")", "' lifecycle segments'"]) }}
            as problem
    from lifecycle_counts
    where segments > 1

),

unscored_members as (

    select
        lifecycle_counts.lead_id,
        'in a lifecycle segment but not in lead_scores' as problem
    from lifecycle_counts
    left join scores on lifecycle_counts.lead_id = scores.lead_id
    where scores.lead_id is null

),

disqualified_on_a_list as (

    select
        members.lead_id,
        {{ dbt.concat(["'disqualified but on list '", "members.segment"]) }} as problem
    from members
    inner join scores on members.lead_id = scores.lead_id
    where members.list_type = 'list' and scores.is_disqualified

),

final as (

    select * from unsegmented
    union all
    select * from multiply_segmented
    union all
    select * from unscored_members
    union all
    select * from disqualified_on_a_list

)

select * from final
