{%- set names = [
    'engagement_total_cap',
    'newsletters_ignored_count',
    'dormant_days',
    'careers_page_views',
    'account_engaged_min_points',
    'account_mqa_min_engaged_contacts',
    'account_mqa_min_departments',
    'account_lift_points',
    'hot_window_days',
    'hot_prior_days',
    'hot_velocity_ratio',
    'hot_velocity_min_events',
    'hot_burst_page_views_per_hour',
    'hot_case_study_downloads',
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
