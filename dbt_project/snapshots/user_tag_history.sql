{% snapshot user_tag_history %}

{{
    config(
        schema='snapshots',
        unique_key='person_tag_key',
        strategy='check',
        check_cols=['tag_value'],
        updated_at='computed_date',
        engine='MergeTree()',
        order_by='(tag_code, one_id, dbt_valid_from)',
    )
}}

{#-
    History is keyed on the run date, never on now(): `check` strategy on tag_value with updated_at =
    computed_date (the run date user_tags was computed for), so dbt_valid_from/dbt_valid_to are run dates and a
    re-run of the same date changes nothing.

    A person losing a tag is recorded as a change to tag_value = null ("removal row"), emitted below for every
    open, non-null history row whose (one_id, tag_code) is gone from user_tags. dbt's own hard_deletes option
    is not used because dbt-clickhouse stamps deletions with now() (snapshot_get_time()), which would make the
    history depend on when the job ran.
-#}
{%- set history = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier)
    if execute else none %}

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

),

{%- if history is not none %}

open_history as (

    select person_tag_key, one_id, tag_code
    from {{ history }}
    where dbt_valid_to is null and tag_value is not null

),

removed_tags as (

    select
        open_history.person_tag_key as person_tag_key,
        open_history.one_id as one_id,
        open_history.tag_code as tag_code,
        cast(null as Nullable(String)) as tag_value,
        toDate('{{ run_date() }}') as computed_date

    from open_history
    left anti join current_tags
        on open_history.person_tag_key = current_tags.person_tag_key

),

{%- endif %}

final as (

    select * from current_tags
    {%- if history is not none %}
    union all
    select * from removed_tags
    {%- endif %}

)

select * from final

{% endsnapshot %}
