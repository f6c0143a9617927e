{#- What a lead is (int_leads_enriched: its CRM row, its account, what its title and text say) and
    the fit rules it matches (int_fit_rules_matched) change only when the CRM or the configuration
    does, not because a day passed, so a run recomputes only the leads that changed:

    - int_leads_enriched rewrites a lead when a newer ingest batch brought its row or its
      account's, when it was created since the last run's as_of date, and every lead when the run
      goes back in time or the keywords and domain lists changed. Each row it writes carries a
      `row_version` (the run's as_of date, last ingest batch and configuration).
    - A model downstream keeps the version of the lead it was computed from, forgets the rows
      whose lead has another version now (or is gone, or whose own configuration changed), and
      computes the leads it has no rows for.

    On Spark these models are plain tables rebuilt on every run (macros/accumulate.sql). -#}

{#- True on an incremental run whose existing rows carry `column`. A table written by a version of
    the model from before it was carried lacks it: its pre-hook empties it, the run computes every
    lead, and on_schema_change adds the new columns, so an upgraded warehouse needs no manual step. -#}
{% macro carried_rows_have(column) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(column in names) }}
{%- endmacro %}

{#- The configuration of a model carried per lead: on DuckDB incremental, replaced by lead; a table
    from before the model was carried gets the new columns (carried_rows_have). -#}
{% macro carried_per_lead(unique_key) -%}
    {{ return(leadops.accumulated(unique_key, on_schema_change='sync_all_columns')) }}
{%- endmacro %}

{#- What int_leads_enriched depends on besides the CRM: the title keywords and the personal
    email domains (the competitor list is read by int_lead_signals, which is not carried).
    `title_keywords` and `domain_lists` are stg_config__title_keywords and stg_config__domain_lists. -#}
{% macro lead_enrichment_fingerprint(title_keywords, domain_lists) -%}
    {{ leadops.configuration_fingerprint([
        'select * from ' ~ title_keywords,
        'select * from ' ~ domain_lists ~ " where list_name = 'personal_email'",
    ]) }}
{%- endmacro %}

{#- What int_fit_rules_matched depends on besides int_leads_enriched: the fit rules
    (stg_config__fit_rules). -#}
{% macro fit_rules_fingerprint(fit_rules) -%}
    {{ leadops.configuration_fingerprint(['select * from ' ~ fit_rules]) }}
{%- endmacro %}

{#- Pre-hook of int_leads_enriched: forget every lead when the run goes back in time or the
    keywords or domain lists changed (`fingerprint`, lead_enrichment_fingerprint), and a lead whose
    latest CRM row (`crm_leads`: stg_raw__leads) dates it after as_of. A table from before its rows
    named their CRM row (`ingest_line_number`, which the fit rules on custom fields join on) is
    emptied, so that no lead is matched without its custom fields. -#}
{% macro forget_stale_leads(crm_leads, fingerprint) -%}
    {%- if is_incremental() and not (
        leadops.carried_rows_have('row_version') and leadops.carried_rows_have('ingest_line_number')
    ) -%}
        delete from {{ this }}
    {%- else -%}
        {{ leadops.forget_stale_accumulation(
            fingerprint,
            also='lead_id in (select lead_id from ' ~ crm_leads
                ~ ' where cast(created_at as date) > ' ~ leadops.as_of_date() ~ ')',
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a model carried per lead downstream of int_leads_enriched (`leads`): forget the rows
    of leads whose version moved or that are gone, and every row when `fingerprint` (the
    configuration the model depends on) changed. The model then computes the leads it has no rows for. -#}
{% macro forget_changed_leads(leads, fingerprint) -%}
    {%- if is_incremental() and not leadops.carried_rows_have('lead_row_version') -%}
        delete from {{ this }}
    {%- elif is_incremental() -%}
        delete from {{ this }}
        where
            configuration_fingerprint <> ({{ fingerprint }})
            or not exists (
                select 1
                from {{ leads }} as leads
                where
                    leads.lead_id = {{ this }}.lead_id
                    and leads.row_version = {{ this }}.lead_row_version
            )
    {%- endif -%}
{%- endmacro %}

{#- The leads of int_leads_enriched (`leads`) a carried model has not computed (all of them on a
    full build): those whose version none of its rows has. Every lead of a version is written by one
    run of int_leads_enriched and computed by the next run of the model, so a version present is
    a version done, and a lead that yields no rows (no fit rule matches) is not computed again. -#}
{% macro leads_to_compute(leads) -%}
    select leads.*
    from {{ leads }} as leads
    {%- if leadops.carried_rows_have('lead_row_version') %}
    left join (select distinct lead_row_version from {{ this }}) as computed
        on leads.row_version = computed.lead_row_version
    where computed.lead_row_version is null
    {%- endif %}
{%- endmacro %}

{#- The leads a run of int_leads_enriched computes (`leads_in_scope`: stg_raw__leads created by the
    as_of date; `accounts`: stg_raw__accounts): all of them on a full build; on a nightly run the
    leads a newer batch brought, or whose account a newer batch brought (matched by company domain
    or by email domain), or that were created since the last run's as_of date. -#}
{% macro leads_to_enrich(leads_in_scope, accounts) -%}
    select leads_in_scope.*
    from {{ leads_in_scope }} as leads_in_scope
    {%- if leadops.carried_rows_have('row_version') %}
    cross join (
        select
            max(accumulated_as_of_date) as as_of_date,
            max(through_batch_id) as batch_id
        from {{ this }}
    ) as marks
    left join {{ accounts }} as by_company
        on leads_in_scope.company_domain = by_company.company_domain
    left join {{ accounts }} as by_email
        on leads_in_scope.email_domain = by_email.company_domain
    where
        marks.batch_id is null
        or leads_in_scope.ingest_batch_id > marks.batch_id
        or by_company.ingest_batch_id > marks.batch_id
        or by_email.ingest_batch_id > marks.batch_id
        or cast(leads_in_scope.created_at as date) > marks.as_of_date
    {%- endif %}
{%- endmacro %}

{#- The version each row a run of int_leads_enriched writes carries: the run's as_of date, the last
    ingest batch of `leads_in_scope` and `accounts`, and `fingerprint` (a query giving the
    configuration's fingerprint, lead_enrichment_fingerprint). One row. -#}
{% macro carried_run_version(leads_in_scope, accounts, fingerprint) -%}
    select
        as_of_date,
        batch_id,
        fingerprint,
        {{ dbt.hash(dbt.concat([
            "cast(as_of_date as " ~ dbt.type_string() ~ ")", "'|'",
            "cast(batch_id as " ~ dbt.type_string() ~ ")", "'|'",
            "fingerprint",
        ])) }} as row_version
    from (
        select
            {{ leadops.as_of_date() }} as as_of_date,
            (
                select max(ingest_batch_id) from (
                    select ingest_batch_id from {{ leads_in_scope }}
                    union all
                    select ingest_batch_id from {{ accounts }}
                ) as batches
            ) as batch_id,
            ({{ fingerprint }}) as fingerprint
    ) as run_marks
{%- endmacro %}
