{{
    config(
        order_by='one_id',
    )
}}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

preferred_per_type as (

    -- a person can have several ids of one type: prefer the most recently seen, then the smallest value
    select
        one_id,
        id_type,
        argMin(id_value, (-toInt64(toRelativeDayNum(last_seen_date)), id_value)) as preferred_value,
        min(first_seen_date) as type_first_seen_date,
        max(last_seen_date) as type_last_seen_date

    from identity_links
    group by one_id, id_type

),

pivoted as (

    select
        one_id,
        {%- for id_type in ['phone', 'unionid', 'wechat_oa_openid', 'miniprogram_openid', 'app_user_id',
                            'wecom_external_userid', 'douyin_open_id', 'xiaoe_user_id', 'cdnow_customer_id'] %}
        anyIf(preferred_value, id_type = '{{ id_type }}') as {{ id_type }},
        {%- endfor %}
        min(type_first_seen_date) as first_seen_date,
        max(type_last_seen_date) as last_seen_date

    from preferred_per_type
    group by one_id

)

select * from pivoted
