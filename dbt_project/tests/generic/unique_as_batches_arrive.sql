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
{{ leadops.unique_keys_among_arrivals(
    model,
    [column_name],
    none if checked_through is none else batch_column ~ ' > ' ~ checked_through
) }}

{% endtest %}
