with

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

activity as (

    select * from {{ ref('int_lead_event_totals_accumulated') }}

),

final as (

    -- The lead's latest escape: what it engaged with before then no longer counts.
    select
        activity.lead_id,
        activity.reset_at,
        activity.reset_by
    from activity
    inner join leads
        on activity.lead_id = leads.lead_id
    where activity.reset_at is not null

)

select * from final
