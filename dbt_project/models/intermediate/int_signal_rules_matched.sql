with

signals as (

    select * from {{ ref('int_lead_signals') }}

),

rules as (

    select * from {{ ref('stg_config__signal_rules') }}

),

final as (

    select
        signals.lead_id,
        rules.rule_name,
        signals.signal,
        {{ leadops.points('rules.points') }} as points,
        rules.is_disqualifier,
        signals.evidence
    from signals
    inner join rules
        on signals.signal = rules.signal

)

select * from final
