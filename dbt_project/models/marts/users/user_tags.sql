{{
    config(
        order_by='(tag_code, one_id)',
        partition_by='computed_date',
    )
}}

{#-
    The long form of the profile: each catalogue tag column of marts.user_profile becomes one row per person.
    One select per tag, unioned: each reads only one_id and its tag's column of the profile, and emits that
    tag's rows in one_id order, so every block arrives already sorted by the table's key (tag_code, one_id) and
    the insert does not sort it (the 10M-people build spent most of its time sorting a person-major ARRAY JOIN
    by tag value; bench/profile_build.py). Filters on tag_code read one tag's rows; a person's tags are 56 short
    ranges (profile view); equality on a tag value is what tag_bitmaps is for.
-#}

with

user_profile as (

    select * from {{ ref('user_profile') }}

),

unpivoted as (

    {%- for tag in catalogue_tags() %}

    select
        one_id,
        '{{ tag.code }}' as tag_code,
        {{ tag_value_expression(tag.code, tag.type) }} as tag_value,
        profile_date as computed_date

    from user_profile
    where tag_value is not null
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

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
