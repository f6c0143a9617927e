{#- Accumulated models carry what each lead did from one run to the next, so that a nightly run
    reads only the events it has not counted yet instead of the whole history (README,
    "Performance"). Every row records the as_of date it was computed for and the last ingest batch
    it had seen; a run adds the events of newer batches, and the events of older batches dated
    after the last as_of date, to the carried rows those events touch (a lead, a lead's rule, a
    lead's campaign), and leaves the other rows as they are, so the rows written follow the new
    events. Readers bring a row's decayed points from its own date to theirs.

    On DuckDB the touched rows are replaced by key (delete+insert); on Spark the models are plain
    tables rebuilt on every run. -#}
{% macro accumulated(unique_key, on_schema_change='fail') -%}
    {{ return({
        'materialized': 'table' if target.type == 'spark' else 'incremental',
        'incremental_strategy': 'delete+insert' if unique_key else 'append',
        'unique_key': unique_key,
        'on_schema_change': on_schema_change,
    }) }}
{%- endmacro %}

{#- Pre-hook of the accumulated models: what was carried is thrown away, and the model is rebuilt
    from the whole history, when the run goes back in time (a backfill, or a rerun of an earlier
    date) or when the configuration the rows were computed under has changed. -#}
{% macro forget_stale_accumulation(fingerprint=none, also=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ leadops.accumulated_after_as_of() }}
            {%- if fingerprint %}
                or configuration_fingerprint <> ({{ fingerprint }})
            {%- endif %}
            {%- if also %}
                or {{ also }}
            {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of an accumulated model that reads a column its earlier versions did not write: the
    column is added to the carried table, empty, so that the model compiles against it; its
    rows, computed under another version (another fingerprint), are then forgotten and rebuilt,
    and on_schema_change='sync_all_columns' drops what the new version no longer writes. -#}
{% macro add_column_to_carried(column, data_type) -%}
    {%- if is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if column not in columns -%}
            alter table {{ this }} add column {{ column }} {{ data_type }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- True when the model's rows were computed for a later date than this run's: the run goes back
    in time, and what was carried must be rebuilt. -#}
{% macro accumulated_after_as_of() -%}
    (select max(accumulated_as_of_date) from {{ this }}) > {{ leadops.as_of_date() }}
{%- endmacro %}

{#- The events an accumulated model has not counted yet, on or before the as_of date. `events` is
    the raw activity (stg_raw__activity) and `carried` the model's own rows (`this`); without them
    (a first run, a rebuild) every event counts. A model passes the relation itself rather than an
    import CTE when it scans the events twice: DuckDB materializes a CTE that two others read,
    the whole history. -#}
{% macro events_not_yet_accumulated(events, carried) -%}
    select events.*
    from {{ events }} as events
    {%- if is_incremental() %}
    cross join (
        select
            max(accumulated_as_of_date) as as_of_date,
            max(through_batch_id) as batch_id
        from {{ carried }}
    ) as marks
    {%- endif %}
    where
        events.occurred_at < {{ leadops.day_after_as_of() }}
        {%- if is_incremental() %}
        and (
            marks.batch_id is null
            or events.ingest_batch_id > marks.batch_id
            or events.occurred_at >= {{ dbt.dateadd('day', 1, 'marks.as_of_date') }}
        )
        {%- endif %}
{%- endmacro %}

{#- The last ingest batch of `events` (stg_raw__activity): the rows a run writes have seen every
    batch up to it. -#}
{% macro last_ingest_batch(events) -%}
    (select max(ingest_batch_id) from {{ events }})
{%- endmacro %}

{#- The configuration the engagement state depends on: what each engagement rule counts and its
    half-life (not its points, caps and group, which readers apply), and the event types that reset
    engagement. `engagement_rules` and `event_lists` are stg_config__engagement_rules and
    stg_config__event_lists. A change rebuilds the state (forget_stale_accumulation). -#}
{% macro engagement_configuration_fingerprint(engagement_rules, event_lists) -%}
    {{ leadops.configuration_fingerprint([
        'select rule_name, event_type, url_contains, half_life_days, window_days from ' ~ engagement_rules,
        leadops.escape_types_query(event_lists),
    ]) }}
{%- endmacro %}

{#- The configuration the event totals depend on: the event types that reset engagement. -#}
{% macro escape_configuration_fingerprint(event_lists) -%}
    {{ leadops.configuration_fingerprint([leadops.escape_types_query(event_lists)]) }}
{%- endmacro %}

{% macro escape_types_query(event_lists) -%}
    {{ return('select value from ' ~ event_lists ~ " where list_name = 'escape_event_type'") }}
{%- endmacro %}

{#- One row of a relation as text, to fingerprint configuration tables whatever their columns. -#}
{% macro row_as_text(alias) -%}
    {{ return(adapter.dispatch('row_as_text', 'leadops')(alias)) }}
{%- endmacro %}

{% macro default__row_as_text(alias) -%}
    cast({{ alias }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro spark__row_as_text(alias) -%}
    to_json(struct({{ alias }}.*))
{%- endmacro %}

{#- A hash of every row the given queries return, and of the SQL of the model being built: it
    changes when the configuration changes and when the model's logic does, so that rows carried
    from an earlier version of the model are recomputed rather than mixed with new ones. -#}
{% macro configuration_fingerprint(queries) -%}
    {%- set parts = ["'" ~ model.checksum.checksum ~ "'"] -%}
    {%- set row_text = leadops.row_as_text('config_row') -%}
    {%- for query in queries -%}
        {%- do parts.append("'#'") -%}
        {%- do parts.append(
            "coalesce((select " ~ dbt.listagg(row_text, "';'", "order by " ~ row_text)
            ~ " from (" ~ query ~ ") as config_row), '')"
        ) -%}
    {%- endfor -%}
    select {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- Points decayed by a rule's half-life over the whole days from `from_date` to the as_of date. -#}
{% macro decayed_to_as_of(points, half_life_days, from_date) -%}
    {{ points }} * case
        when {{ half_life_days }} is null then 1.0
        else power(
            0.5,
            cast({{ dbt.datediff(from_date, leadops.as_of_date(), 'day') }} as {{ leadops.type_double() }})
            / {{ half_life_days }}
        )
    end
{%- endmacro %}

{#- Days the activity window spans: the hot window and its prior days, and at least the 35 days
    of the activity counts (events_prior_28_days reaches 34 days back). Reads stg_config__parameters. -#}
{% macro activity_window_days() -%}
    cast(greatest(hot_window_days + hot_prior_days, 35) as {{ dbt.type_int() }})
{%- endmacro %}

{#- Whether the activity window keeps delivered emails: only when a hot trigger names them
    (`event_lists`: stg_config__event_lists), as no other reader of the window counts them. -#}
{% macro window_keeps_delivered_emails(event_lists) -%}
    (select count(*) from {{ event_lists }} where list_name = 'hot_event_type' and value = 'email_delivered') > 0
{%- endmacro %}

{#- Pre-hook of int_events_windowed: drop the events that left the window; drop them all
    when the run goes back in time, the window's length changed (`parameters`:
    stg_config__parameters) or whether it keeps delivered emails did (`event_lists`). -#}
{% macro slide_activity_window(parameters, event_lists) -%}
    {%- if is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        delete from {{ this }}
        {%- if 'keeps_delivered_emails' not in columns %}
        {#- A window written by a version that kept whole events: rebuilt, its columns synced. #}
        {%- else %}
        where
            {{ leadops.accumulated_after_as_of() }}
            or window_days <> (select {{ leadops.activity_window_days() }} from {{ parameters }})
            or keeps_delivered_emails <> ({{ leadops.window_keeps_delivered_emails(event_lists) }})
            or occurred_at
            < cast({{ dbt.dateadd('day', '1 - window_days', leadops.as_of_date()) }} as {{ dbt.type_timestamp() }})
        {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of int_events_windowed: a night with no new events in the window adds no rows,
    yet the window has slid; stamping one row with the run's as_of date and batch lets a later
    run that goes back in time see that it must rebuild the window (slide_activity_window).
    `events` is stg_raw__activity. -#}
{% macro stamp_activity_window(events) -%}
    {%- if is_incremental() -%}
        update {{ this }}
        set
            accumulated_as_of_date = {{ leadops.as_of_date() }},
            through_batch_id = {{ leadops.last_ingest_batch(events) }}
        where rowid = (select min(rowid) from {{ this }})
    {%- endif -%}
{%- endmacro %}
