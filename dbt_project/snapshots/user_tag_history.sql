{% snapshot user_tag_history %}

{{
    config(
        schema='snapshots',
        unique_key='person_tag_key',
        strategy='check',
        check_cols=['tag_value'],
        updated_at='computed_date',
        absent_keys='null_period',
        snapshot_join_keys=['tag_code', 'one_id'],
        engine='MergeTree()',
        order_by='(tag_code, one_id, dbt_valid_from)',
    )
}}

{#-
    History is keyed on the run date, never on now(): `check` strategy on tag_value with updated_at =
    computed_date (the run date user_tags was computed for), so dbt_valid_from/dbt_valid_to are run dates and a
    re-run of the same date changes nothing.

    A person losing a tag is recorded as a change to tag_value = null ("removal row"): absent_keys='null_period'
    (macros/snapshot_staging_table.sql) gives every open, non-null period whose (one_id, tag_code) is gone from
    user_tags a new period with tag_value null from the run date. dbt's own hard_deletes option is not used because
    dbt-clickhouse stamps deletions with now() (snapshot_get_time()), which would make the history depend on when
    the job ran.

    The change set joins user_tags and the open periods on (tag_code, one_id), the leading columns of both tables'
    sorting keys, so ClickHouse merges the two in order instead of hashing every period (snapshot_join_keys).
    person_tag_key is one_id:tag_code (tested on every row), so the pair identifies a period's key as it does.
-#}

with

user_tags as (

    select * from {{ ref('user_tags') }}

),

current_tags as (

    select
        concat(toString(one_id), ':', tag_code) as person_tag_key,
        one_id,
        toString(tag_code) as tag_code,
        cast(tag_value as Nullable(String)) as tag_value,
        computed_date

    from user_tags

)

select * from current_tags

{% endsnapshot %}
