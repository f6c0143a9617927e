{#- The leads of marketing-qualified accounts, each with the account lift's points and the reason.
    `leads` is any relation with lead_id and account_domain, `accounts` is account_rollup and
    `parameters` stg_config__parameters. Both the factor rows and the score read it, so the score
    adds up the same lift that a lead's factors show. -#}
{% macro leads_lifted_by_their_account(leads, accounts, parameters) -%}
    select
        leads.lead_id,
        {{ leadops.points('parameters.account_lift_points') }} as points,
        {{ dbt.concat([
            "accounts.account_domain",
            "': '",
            "cast(accounts.engaged_contacts as " ~ dbt.type_string() ~ ")",
            "' engaged contacts in '",
            "cast(accounts.engaged_departments as " ~ dbt.type_string() ~ ")",
            "' departments'",
        ]) }} as evidence
    from {{ leads }} as leads
    inner join {{ accounts }} as accounts
        on leads.account_domain = accounts.account_domain
    cross join {{ parameters }} as parameters
    where accounts.is_marketing_qualified
{%- endmacro %}

{#- Per lead, what its factor rows add up to before the score's floor and ceiling: its fit, its
    capped engagement, its account's lift and its negative signals (each already in cents, so the
    sum is exact), with whether it matched a fit rule or was lifted. Arguments are relations: lead_fit,
    lead_engagement, lead_negative_signals and leads_lifted_by_their_account(). -#}
{% macro points_before_bounds(fit, engagement, negative, lifted) -%}
    select
        fit.lead_id,
        fit.fit_rules_matched,
        lifted.lead_id is not null as is_lifted,
        fit.fit_points + engagement.engagement_points + coalesce(lifted.points, 0) + negative.negative_points
            as points
    from {{ fit }} as fit
    inner join {{ engagement }} as engagement
        on fit.lead_id = engagement.lead_id
    inner join {{ negative }} as negative
        on fit.lead_id = negative.lead_id
    left join {{ lifted }} as lifted
        on fit.lead_id = lifted.lead_id
{%- endmacro %}
