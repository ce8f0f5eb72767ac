{{
    config(
        order_by='(tag_code, tag_value)',
        settings={'index_granularity': 1},
    )
}}

{#-
    Which tags get bitmaps (the catalogue's `type` and `allowed_values` decide):
    - enum and boolean tags: a small closed set of values, each one a meaningful audience;
    - integer tags whose allowed_values is a closed range of at most max_bucketed_values values, e.g. the RFM
      scores (1..5) or active_days_30d (0..30): already bucketed, one bitmap per value;
    - every other tag is excluded: open-ended numbers (rfm_monetary, lifetime_spend, account_age_days), dates,
      free strings (city) and lists. Segment on those with a range over marts.user_tags, or add an enumerated
      band tag to the catalogue, which then gets bitmaps here.
-#}
{%- set bitmap_tag_types = ['enum', 'boolean'] %}
{%- set max_bucketed_values = 32 %}

with

user_tags as (

    select * from {{ ref('user_tags') }}

),

tag_catalogue as (

    select * from {{ ref('tag_catalogue') }}

),

bitmap_tags as (

    select code as tag_code
    from tag_catalogue
    where type in ('{{ bitmap_tag_types | join("', '") }}')
        or (
            type = 'integer'
            and match(allowed_values, '^[0-9]+[.][.][0-9]+$')
            and toUInt64(splitByString('..', allowed_values)[2])
                - toUInt64(splitByString('..', allowed_values)[1]) < {{ max_bucketed_values }}
        )

),

people_per_value as (

    -- one_ids are below 2^32 by contract (identity stage); accurateCast fails the build loudly if one is not
    select
        tag_code,
        tag_value,
        groupBitmapState(accurateCast(one_id, 'UInt32')) as bitmap

    from user_tags
    where tag_code in (select tag_code from bitmap_tags)
    group by tag_code, tag_value

),

final as (

    select
        toLowCardinality(tag_code) as tag_code,
        toString(tag_value) as tag_value,
        toUInt64(bitmapCardinality(bitmap)) as people,
        bitmap

    from people_per_value

)

select * from final
