{#-
    The change set of a snapshot (the rows dbt-clickhouse's snapshot merge inserts and closes), computed with ONE
    join of the snapshot query against the open history.

    dbt-clickhouse's own staging query (clickhouse__snapshot_staging_table_timestamp_strategy) writes
    `insertions` as a LEFT JOIN and `updates` as an INNER JOIN of the same two inputs; ClickHouse inlines CTEs, so
    the snapshot query and the join on the unique key each run twice. Here the join runs once and each joined row
    yields its 'insert' and/or 'update' row (ARRAY JOIN), with the same conditions, the same columns and the same
    values as the adapter's query:
      insert: no open period for the key, or the checked columns changed (new period: dbt_valid_to null,
              dbt_scd_id = the strategy's hash);
      update: an open period exists and the checked columns changed (closes it: dbt_valid_to = updated_at,
              dbt_scd_id of the open period).
    Snapshots with hard deletes, or with a check strategy stamped with now(), keep the adapter's query.

    Two options of the snapshot's config:
    - `absent_keys: 'null_period'`: a key with an open period that the query no longer returns gets a new period
      whose check columns are null, starting on the run date (the history says "did not have it from then on").
      dbt's own hard_deletes='new_record' does the same but stamps the change with now(), which would make the
      history depend on when the job ran. Needs check_cols as a list and updated_at as a Date column of the query.
      The join is then a FULL JOIN: the absent keys come out of the same single join.
    - `snapshot_join_keys: [columns]`: the join matches on these columns instead of the unique key, with
      ClickHouse's sort-merge join. When they are the leading columns of the history table's sorting key and the
      query reads its table in the same order, ClickHouse reads both sides in order and merges them: no hash
      table of every open period (1M people, 42M tag periods: the change set took 108 s as hash joins on the
      string key, ~17 s merged in order; docs/build_performance.md). The keys must identify a row as the unique key
      does (for user_tag_history: person_tag_key is one_id:tag_code, and a data test proves it on every row).
-#}
{% macro clickhouse__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {%- if strategy.updated_at == 'now()' or 'now()' in strategy.updated_at -%}
        {{ clickhouse__snapshot_staging_table_check_strategy(strategy, source_sql, target_relation) }}
    {%- elif strategy.invalidate_hard_deletes -%}
        {{ clickhouse__snapshot_staging_table_timestamp_strategy(strategy, source_sql, target_relation) }}
    {%- else -%}
        {{ snapshot_staging_table_in_one_join(strategy, source_sql, target_relation) }}
    {%- endif -%}
{%- endmacro %}


{% macro snapshot_staging_table_in_one_join(strategy, source_sql, target_relation) -%}
    {%- set join_keys = config.get('snapshot_join_keys') or [] -%}
    {%- set absent_keys = config.get('absent_keys') or 'keep_open' -%}
    {%- set check_cols = config.get('check_cols') -%}
    {%- set updated_at = config.get('updated_at') -%}
    {%- if absent_keys not in ('keep_open', 'null_period') -%}
        {{ exceptions.raise_compiler_error(
            "snapshot " ~ this ~ ": absent_keys is " ~ absent_keys ~ "; use 'keep_open' (the default) or 'null_period'"
        ) }}
    {%- endif -%}
    {%- set null_period = absent_keys == 'null_period' -%}
    {%- if null_period and (check_cols is string or not check_cols) -%}
        {{ exceptions.raise_compiler_error(
            "snapshot " ~ this ~ ": absent_keys='null_period' needs check_cols as a list of columns (they become null)"
        ) }}
    {%- endif -%}
    {%- set source_columns = get_columns_in_query(source_sql) -%}
    {%- if null_period and updated_at not in source_columns -%}
        {{ exceptions.raise_compiler_error(
            "snapshot " ~ this ~ ": absent_keys='null_period' needs updated_at to be a column of the snapshot query "
            ~ "(the run date goes there for an absent key); it is " ~ updated_at
        ) }}
    {%- endif -%}

    with snapshot_query as (

        {{ source_sql }}

    ),

    source_data as (

        select
            *,
            {{ strategy.unique_key }} as dbt_unique_key,
            toUInt8(1) as dbt_in_query

        from snapshot_query

    ),

    snapshotted_data as (

        select
            *,
            {{ strategy.unique_key }} as dbt_unique_key,
            toUInt8(1) as dbt_in_history

        from {{ target_relation }}
        where dbt_valid_to is null

    ),

    joined as (

        select
            {%- for column in source_columns %}
            {%- set name = adapter.quote(column) %}
            {%- if not null_period %}
            source_data.{{ name }} as {{ name }},
            {%- elif column in check_cols %}
            if(dbt_from_query, source_data.{{ name }}, null) as {{ name }},
            {%- elif column == updated_at %}
            if(dbt_from_query, source_data.{{ name }}, toDate('{{ run_date() }}')) as {{ name }},
            {%- else %}
            if(dbt_from_query, source_data.{{ name }}, snapshotted_data.{{ name }}) as {{ name }},
            {%- endif %}
            {%- endfor %}
            snapshotted_data.dbt_scd_id as dbt_open_scd_id,
            {#- the markers, not a column of either side, say which side a joined row has: whether a missing side
                reads as null or as its type's default depends on join_use_nulls #}
            ifNull(source_data.dbt_in_query, 0) = 1 as dbt_from_query,
            ifNull(snapshotted_data.dbt_in_history, 0) = 1 as dbt_has_open_period,
            {%- if null_period %}
            {#- an absent key's new check columns are null: it changed when the open period had a value #}
            if(
                dbt_from_query,
                {{ strategy.row_changed }},
                not ({% for column in check_cols %}snapshotted_data.{{ adapter.quote(column) }} is null
                     {%- if not loop.last %} and {% endif %}{% endfor %})
            ) as dbt_row_changed
            {%- else %}
            {{ strategy.row_changed }} as dbt_row_changed
            {%- endif %}

        from source_data
        {{ 'full' if null_period else 'left' }} outer join snapshotted_data on
        {%- if join_keys %}
            {%- for key in join_keys %}
            source_data.{{ adapter.quote(key) }} = snapshotted_data.{{ adapter.quote(key) }}
            {%- if not loop.last %} and{% endif %}
            {%- endfor %}
        {%- else %}
            snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        {%- endif %}

    ),

    compared as (

        select
            {%- for column in source_columns %}
            {{ adapter.quote(column) }},
            {%- endfor %}
            {{ strategy.unique_key }} as dbt_unique_key,
            {{ strategy.updated_at }} as dbt_updated_at,
            {{ strategy.updated_at }} as dbt_valid_from,
            {{ strategy.scd_id }} as dbt_new_scd_id,
            dbt_open_scd_id,
            not dbt_has_open_period or dbt_row_changed as dbt_is_insertion,
            dbt_has_open_period and dbt_row_changed as dbt_is_update

        from joined
        where dbt_is_insertion or dbt_is_update

    )

    select
        dbt_change_type,
        * except (dbt_change_type, dbt_open_scd_id, dbt_is_insertion, dbt_is_update, dbt_new_scd_id),
        if(dbt_change_type = 'insert', nullif(dbt_valid_from, dbt_valid_from), dbt_valid_from) as dbt_valid_to,
        if(dbt_change_type = 'insert', dbt_new_scd_id, dbt_open_scd_id) as dbt_scd_id

    from compared
    array join
        arrayFilter(
            change_type -> change_type != '',
            [if(dbt_is_insertion, 'insert', ''), if(dbt_is_update, 'update', '')]
        ) as dbt_change_type
    {%- if join_keys %}
    settings join_algorithm = 'full_sorting_merge'
    {%- endif %}

{%- endmacro %}
