{%- set names = [
    'engagement_total_cap',
    'newsletters_ignored_count',
    'dormant_days',
    'careers_page_views',
    'account_engaged_min_points',
    'account_mqa_min_engaged_contacts',
    'account_mqa_min_departments',
] -%}

with

source as (

    select * from {{ source('config', 'parameters') }}

),

final as (

    -- One row, one column per parameter, so models can cross join it.
    select
        {%- for name in names %}
            max(case when name = '{{ name }}' then value end) as {{ name }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from source

)

select * from final
