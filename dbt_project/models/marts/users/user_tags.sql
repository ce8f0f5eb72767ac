{{
    config(
        engine='MergeTree()',
        order_by='(tag_code, tag_value, one_id)',
        partition_by='computed_date',
    )
}}

{#-
    The long form of the profile: each catalogue tag column of marts.user_profile becomes one row per person.
    Unpivoted with one ARRAY JOIN over (code, value) pairs, so the profile is read once. Ordered by
    (tag_code, tag_value): what tag_bitmaps and segment scans group and filter by.
-#}

with

user_profile as (

    select * from {{ ref('user_profile') }}

),

unpivoted as (

    select
        one_id,
        tag.1 as tag_code,
        tag.2 as tag_value,
        profile_date as computed_date

    from user_profile
    array join [
        {%- for tag in catalogue_tags() %}
        ('{{ tag.code }}', {{ tag_value_expression(tag.code, tag.type) }}){{ "," if not loop.last }}
        {%- endfor %}
    ] as tag
    where tag_value is not null

),

final as (

    select
        one_id,
        toLowCardinality(tag_code) as tag_code,
        assumeNotNull(tag_value) as tag_value,
        computed_date

    from unpivoted

)

select * from final
