{#- One row per lead and fit rule it matches, on a built-in attribute or a custom field of its CRM
    row (`custom.<field>`). Carried per lead (macros/carry_leads.sql): a run matches only the leads
    int_leads_enriched rewrote (a changed custom field is a new row), and all when the rules change. -#}
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

custom_fields as (

    select * from {{ ref('stg_raw__lead_attributes') }}

),

-- What the leads were matched under; the pre-hook forgets every row when it changes.
configuration as (

    {{ leadops.fit_rules_fingerprint(ref('stg_config__fit_rules')) }} as fingerprint

),

leads as (

    {{ leadops.leads_to_compute('enriched_leads') }}

),

custom_rule_fields as (

    -- `custom.lead_origin` reads the custom field lead_origin.
    select distinct
        attribute,
        {{ dbt.split_part('attribute', "'.'", 2) }} as field_name
    from rules
    where attribute like 'custom.%'

),

custom_values as (

    -- The custom fields the rules read, of the current CRM row of each lead computed.
    select
        leads.lead_id,
        leads.row_version,
        rule_fields.attribute,
        custom_fields.field_value
    from custom_rule_fields as rule_fields
    inner join custom_fields
        on rule_fields.field_name = custom_fields.field_name
    inner join leads
        on
            custom_fields.lead_id = leads.lead_id
            and custom_fields.ingest_batch_id = leads.ingest_batch_id
            and custom_fields.ingest_line_number = leads.ingest_line_number

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
            lower({{ column }}) as text_value,
            lower({{ column }}) as evidence
        from leads
        where {{ column }} is not null
        union all
    {%- endfor %}
    -- Case-insensitive as built-in text; the evidence keeps the value as written.
    select
        lead_id,
        row_version,
        attribute,
        lower(field_value) as text_value,
        {{ dbt.concat(["attribute", "' = '''", "field_value", "''''"]) }} as evidence
    from custom_values

),

numeric_attributes as (

    {%- set numeric_attributes = ['employees', 'annual_revenue'] %}
    {%- for column in numeric_attributes %}
        select
            lead_id,
            row_version,
            '{{ column }}' as attribute,
            cast({{ column }} as {{ leadops.type_double() }}) as numeric_value,
            cast(cast({{ column }} as {{ leadops.type_double() }}) as {{ dbt.type_string() }}) as evidence
        from leads
        where {{ column }} is not null
        union all
    {%- endfor %}
    -- A value that is not a number matches no `between` (the finding custom_numbers_read counts them).
    select
        lead_id,
        row_version,
        attribute,
        {{ leadops.number_or_null('field_value') }} as numeric_value,
        {{ dbt.concat(["attribute", "' = '", "field_value"]) }} as evidence
    from custom_values
    where {{ leadops.number_or_null('field_value') }} is not null

),

matches as (

    select
        text_attributes.lead_id,
        text_attributes.row_version,
        rules.rule_name,
        rules.points,
        text_attributes.evidence
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

    union all
    select
        numeric_attributes.lead_id,
        numeric_attributes.row_version,
        rules.rule_name,
        rules.points,
        numeric_attributes.evidence
    from numeric_attributes
    inner join rules
        on
            numeric_attributes.attribute = rules.attribute
            and rules.match_type = 'between'
            and numeric_attributes.numeric_value between rules.range_low and rules.range_high

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
