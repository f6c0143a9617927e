{%- set signals = [
    'personal_email', 'competitor', 'unsubscribed', 'email_bounced',
    'junk', 'job_applicant', 'newsletters_ignored', 'dormant',
] -%}

with

leads as (

    select lead_id from {{ ref('int_leads_enriched') }}

),

signals as (

    select * from {{ ref('int_lead_signals') }}

),

rules_matched as (

    select * from {{ ref('int_signal_rules_matched') }}

),

signal_flags as (

    select
        leads.lead_id,
        {%- for signal in signals %}
            coalesce({{ dbt.bool_or("signals.signal = '" ~ signal ~ "'") }}, false) as is_{{ signal }},
        {%- endfor %}
        count(signals.signal) as signal_count
    from leads
    left join signals
        on leads.lead_id = signals.lead_id
    group by leads.lead_id

),

rule_totals as (

    select
        lead_id,
        sum(case when not is_disqualifier then points else 0 end) as negative_points,
        {{ dbt.bool_or('is_disqualifier') }} as is_disqualified,
        min(case when is_disqualifier then rule_name end) as disqualified_by
    from rules_matched
    group by lead_id

),

final as (

    select
        signal_flags.*,
        {{ leadops.points('coalesce(rule_totals.negative_points, 0)') }} as negative_points,
        rule_totals.disqualified_by,
        coalesce(rule_totals.is_disqualified, false) as is_disqualified
    from signal_flags
    left join rule_totals
        on signal_flags.lead_id = rule_totals.lead_id

)

select * from final
