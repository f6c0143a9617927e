{#- Uniqueness over the whole history, paid for as the history arrives: the keys of the batches
    that `checked_by` (an accumulated model, macros/accumulate.sql) has not yet counted are compared
    with every row, so a new key that repeats an old one, or another new one, fails. The older
    batches passed this test when they arrived, and the accumulated model only moves past a batch
    after this test has passed (dbt build runs a model's tests before its children; a selection
    that builds the model without this test breaks that, and leaves the loader's own check of
    every new key against those loaded). Without that model's rows (a first build, a rebuild) it is
    the plain unique test. -#}
{% test unique_as_batches_arrive(model, column_name, batch_column, checked_by) %}

{%- set checked_through = leadops.batch_counted_through(checked_by) %}

{%- if checked_through is none %}

select
    {{ column_name }} as key_value,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1

{%- else %}

with arriving as (

    select distinct {{ column_name }} as key_value
    from {{ model }}
    where
        {{ column_name }} is not null
        and {{ batch_column }} > {{ checked_through }}

),

matching_rows as (

    select history.{{ column_name }} as key_value
    from {{ model }} as history
    inner join arriving
        on history.{{ column_name }} = arriving.key_value

),

final as (

    select
        key_value,
        count(*) as n_records
    from matching_rows
    group by key_value
    having count(*) > 1

)

select * from final

{%- endif %}

{% endtest %}
