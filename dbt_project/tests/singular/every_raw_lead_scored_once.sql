{#- Every lead the CRM holds by the as_of date (its latest row, as stg_raw__leads keeps it) is in
    lead_scores exactly once, and lead_scores holds no other lead: a join that drops or repeats
    leads anywhere between staging and the scores fails here. -#}
{{ config(meta={'dagster': {'ref': {'name': 'lead_scores'}}}) }}

with

crm_leads as (

    select lead_id from {{ ref('stg_raw__leads') }}
    where cast(created_at as date) <= {{ leadops.as_of_date() }}

),

scores as (

    select lead_id from {{ ref('lead_scores') }}

),

scored_times as (

    select
        lead_id,
        count(*) as times
    from scores
    group by lead_id

),

missing as (

    select
        crm_leads.lead_id,
        'missing from lead_scores' as problem
    from crm_leads
    left join scored_times on crm_leads.lead_id = scored_times.lead_id
    where scored_times.lead_id is null

),

repeated as (

    select
        lead_id,
        {{ dbt.concat(["'scored '", "cast(times as " ~ dbt.type_string() ~ ")", "' times'"]) }} as problem
    from scored_times
    where times > 1

),

unknown as (

    select
        scored_times.lead_id,
        'not a lead of the CRM by as_of' as problem
    from scored_times
    left join crm_leads on scored_times.lead_id = crm_leads.lead_id
    where crm_leads.lead_id is null

),

final as (

    select * from missing
    union all
    select * from repeated
    union all
    select * from unknown

)

select * from final
