{#- Uniqueness of a carried model's key, paid for as its rows are written: the rows whose
    `written_on` (the as_of date a run wrote them for) is the latest are the ones the last run
    wrote, and their keys are compared with every row. A carried row keeps its date, so the rows
    carried unchanged are not grouped again; they passed when they were written (a run that goes
    back in time rewrites every row, and they all arrive again). When every row has that date (a
    first build, a rebuild) it is the plain composite-key test. -#}
{% test unique_as_rows_arrive(model, combination_of_columns, written_on='accumulated_as_of_date') %}

{%- set latest = '(select max(' ~ written_on ~ ') from ' ~ model ~ ')' %}
{%- set built = execute and adapter.get_relation(
    database=model.database, schema=model.schema, identifier=model.identifier
) is not none %}
{#- Not built yet (`dbt compile` on a new warehouse): the plain test is what will run first. -#}
{%- set has_older_rows = built and run_query(
    'select count(*) from ' ~ model ~ ' where ' ~ written_on ~ ' < ' ~ latest
).columns[0].values()[0] > 0 %}
{{ leadops.unique_keys_among_arrivals(
    model,
    combination_of_columns,
    '(' ~ written_on ~ ' = ' ~ latest ~ ' or ' ~ written_on ~ ' is null)' if has_older_rows else none
) }}

{% endtest %}
