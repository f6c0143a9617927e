{#- One row per lead and fit rule it matches. Carried per lead (macros/carry_leads.sql): a run
    matches only the leads int_leads_enriched rewrote, and every lead when the fit rules change. -#}
{{ config(
    pre_hook="{{ leadops.forget_changed_leads(
        ref('int_leads_enriched'), leadops.fit_rules_fingerprint(ref('stg_config__fit_rules'))
    ) }}",
    **leadops.carried_per_lead(none)
) }}

with

enriched_leads as (

    select * from {{ ref('int_leads_enriched') }}

),

rules as (

    select * from {{ ref('stg_config__fit_rules') }}

),

-- What the leads were matched under; the pre-hook forgets every row when it changes.
configuration as (

    {{ leadops.fit_rules_fingerprint(ref('stg_config__fit_rules')) }} as fingerprint

),

leads as (

    {{ leadops.leads_to_compute('enriched_leads') }}

),

text_attributes as (

    {%- set text_attributes = [
        'industry', 'country_code', 'seniority', 'department', 'job_title', 'lead_source', 'email_domain',
    ] %}
    {%- for column in text_attributes %}
        select
            lead_id,
            row_version,
            '{{ column | replace("_code", "") }}' as attribute,
            lower({{ column }}) as text_value
        from leads
        where {{ column }} is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

numeric_attributes as (

    {%- set numeric_attributes = ['employees', 'annual_revenue'] %}
    {%- for column in numeric_attributes %}
        select
            lead_id,
            row_version,
            '{{ column }}' as attribute,
            cast({{ column }} as {{ leadops.type_double() }}) as numeric_value
        from leads
        where {{ column }} is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

text_matches as (

    select
        text_attributes.lead_id,
        text_attributes.row_version,
        rules.rule_name,
        rules.points,
        text_attributes.text_value as evidence
    from text_attributes
    inner join rules
        on
            text_attributes.attribute = rules.attribute
            and (
                (rules.match_type = 'equals' and text_attributes.text_value = rules.match_value)
                or (
                    rules.match_type = 'contains'
                    and {{ leadops.contains_words('text_attributes.text_value', 'rules.match_value') }}
                )
            )

),

numeric_matches as (

    select
        numeric_attributes.lead_id,
        numeric_attributes.row_version,
        rules.rule_name,
        rules.points,
        cast(numeric_attributes.numeric_value as {{ dbt.type_string() }}) as evidence
    from numeric_attributes
    inner join rules
        on
            numeric_attributes.attribute = rules.attribute
            and rules.match_type = 'between'
            and numeric_attributes.numeric_value between rules.range_low and rules.range_high

),

matches as (

    select * from text_matches
    union all
    select * from numeric_matches

),

per_rule as (

    -- A rule counts once per lead, however many of its values match.
    select
        lead_id,
        rule_name,
        max(row_version) as lead_row_version,
        max(points) as points,
        min(evidence) as evidence
    from matches
    group by lead_id, rule_name

),

final as (

    select
        per_rule.lead_id,
        per_rule.rule_name,
        per_rule.lead_row_version,
        configuration.fingerprint as configuration_fingerprint,
        -- In cents here, so a lead's fit points are the exact sum of its fit factors.
        {{ leadops.points('per_rule.points') }} as points,
        per_rule.evidence
    from per_rule
    cross join configuration

)

select * from final
