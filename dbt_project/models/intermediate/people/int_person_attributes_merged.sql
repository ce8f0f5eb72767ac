{{
    config(
        order_by='one_id',
    )
}}

{#-
    Declared attributes of a person, merged across the channels that hold them, with a fixed precedence
    (the app account is self-declared and most complete, then Douyin, then WeCom, then orders).
    The per-source attributes are CTEs `as materialized` (see dbt_project.yml): `people` and `merged` both read
    them (1M people: the model took 11.4 s; 5.5 s with this and the channel joins below).
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

app_users as (

    select * from {{ ref('int_app_users_resolved_to_one_ids') }}

),

douyin_fans as (

    select * from {{ ref('stg_douyin__fans') }}

),

wecom_contacts as (

    select * from {{ ref('stg_wecom__external_contacts') }}

),

orders as (

    select * from {{ ref('int_orders_joined_to_one_ids') }}

),

activity_events as (

    select * from {{ ref('int_activity_events_unioned') }}

),

miniprogram_users as (

    select * from {{ ref('stg_miniprogram__users') }}

),

xiaoe_users as (

    select * from {{ ref('stg_xiaoe__users') }}

),

oa_followers as (

    select * from {{ ref('stg_wechat_oa__followers') }}

),

channel_joins as (

    -- when the person joined each channel: a sign of life older than any snapshot delivery
    select 'douyin_open_id' as id_type, douyin_open_id as id_value, toNullable(followed_at) as joined_at
    from douyin_fans
    union all
    select 'wecom_external_userid', wecom_external_userid, added_at from wecom_contacts
    union all
    select 'miniprogram_openid', miniprogram_openid, first_visited_at from miniprogram_users
    union all
    select 'xiaoe_user_id', xiaoe_user_id, created_at from xiaoe_users
    union all
    select 'wechat_oa_openid', wechat_oa_openid, subscribed_at from oa_followers

),

first_channel_joins as materialized (

    select
        channel_links.one_id as one_id,
        min(channel_joins.joined_at) as first_joined_at

    -- the dated channel rows are the side ClickHouse hashes (the right one); the links are read for these five
    -- types only, a range of their table's sort order (1M people: 5.2 s with all links hashed, 1.3 s this way)
    from (
        select one_id, id_type, id_value from identity_links
        where id_type in ('douyin_open_id', 'wecom_external_userid', 'miniprogram_openid', 'xiaoe_user_id',
                          'wechat_oa_openid')
    ) as channel_links
    inner join (
        select id_type, id_value, joined_at from channel_joins where joined_at is not null
    ) as channel_joins
        on channel_joins.id_type = channel_links.id_type
        and channel_joins.id_value = channel_links.id_value
    group by channel_links.one_id

),

app_account_attributes as materialized (

    -- the person's most recently seen app account (ties: smallest id) speaks for them; registration is the earliest
    select
        one_id,
        argMin(os, (-toInt64(toRelativeDayNum(last_seen_date)), app_user_id)) as account_os,
        argMin(gender, (-toInt64(toRelativeDayNum(last_seen_date)), app_user_id)) as account_gender,
        argMin(city, (-toInt64(toRelativeDayNum(last_seen_date)), app_user_id)) as account_city,
        argMin(register_channel, (-toInt64(toRelativeDayNum(last_seen_date)), app_user_id)) as account_register_channel,
        min(registered_at) as account_registered_at,
        -- a marker: a person missing from this side of a left join reads false, not a 1970 registration
        true as has_app_account

    from app_users
    group by one_id

),

invitations as materialized (

    select
        inviter_links.one_id as one_id,
        uniqExact(app_users.app_user_id) as invited_accounts

    from app_users
    inner join (
        select one_id, id_value from identity_links where id_type = 'app_user_id'
    ) as inviter_links
        on app_users.inviter_app_user_id = inviter_links.id_value
    group by inviter_links.one_id

),

douyin_attributes as materialized (

    select
        douyin_links.one_id as one_id,
        -- the latest follow speaks; ties (same instant): the greatest open_id, so every build picks the same
        {%- set latest_follow = '(douyin_fans.followed_at, douyin_fans.douyin_open_id)' %}
        argMaxIf(douyin_fans.gender, {{ latest_follow }}, douyin_fans.gender != 'unknown') as fan_gender,
        argMaxIf(douyin_fans.city, {{ latest_follow }}, douyin_fans.city is not null) as fan_city,
        argMaxIf(douyin_fans.province, {{ latest_follow }}, douyin_fans.province is not null) as fan_province

    from douyin_fans
    inner join (
        select one_id, id_value from identity_links where id_type = 'douyin_open_id'
    ) as douyin_links
        on douyin_fans.douyin_open_id = douyin_links.id_value
    group by douyin_links.one_id

),

wecom_attributes as materialized (

    select
        wecom_links.one_id as one_id,
        -- ties (added at the same instant, or by two staff): the greatest (external id, staff id)
        argMaxIf(wecom_contacts.gender,
            (wecom_contacts.added_at, wecom_contacts.wecom_external_userid, wecom_contacts.staff_userid),
            wecom_contacts.gender != 'unknown') as contact_gender

    from wecom_contacts
    inner join (
        select one_id, id_value from identity_links where id_type = 'wecom_external_userid'
    ) as wecom_links
        on wecom_contacts.wecom_external_userid = wecom_links.id_value
    group by wecom_links.one_id

),

order_attributes as materialized (

    select
        one_id,
        -- orders created at the same instant: the greatest order_id's city
        argMaxIf(city, (created_at, order_id), city is not null) as order_city

    from orders
    group by one_id

),

event_attributes as materialized (

    select
        one_id,
        -- events at the same instant: the greatest event_ref's os
        argMaxIf(os, (event_at, event_ref), os is not null) as event_os

    from activity_events
    where touchpoint = 'app'
    group by one_id

),

people as (

    select one_id from app_account_attributes
    union distinct
    select one_id from douyin_attributes
    union distinct
    select one_id from wecom_attributes
    union distinct
    select one_id from order_attributes
    union distinct
    select one_id from event_attributes
    union distinct
    select one_id from invitations
    union distinct
    select one_id from first_channel_joins

),

merged as (

    select
        people.one_id as one_id,
        multiIf(
            app_account_attributes.account_gender in ('male', 'female'), app_account_attributes.account_gender,
            douyin_attributes.fan_gender in ('male', 'female'), douyin_attributes.fan_gender,
            wecom_attributes.contact_gender in ('male', 'female'), wecom_attributes.contact_gender,
            'unknown'
        ) as gender,
        coalesce(
            nullIf(app_account_attributes.account_city, ''),
            nullIf(order_attributes.order_city, ''),
            nullIf(douyin_attributes.fan_city, '')
        ) as city,
        nullIf(douyin_attributes.fan_province, '') as province,
        multiIf(
            app_account_attributes.account_os in ('ios', 'android', 'harmonyos'), app_account_attributes.account_os,
            event_attributes.event_os in ('ios', 'android', 'harmonyos'), event_attributes.event_os,
            'unknown'
        ) as device_os,
        multiIf(
            coalesce(app_account_attributes.account_register_channel, '') = '', 'unknown',
            app_account_attributes.account_register_channel in (
                'appstore', 'huawei', 'xiaomi', 'oppo', 'vivo', 'tencent', 'douyin_ad', 'invite', 'organic'
            ), app_account_attributes.account_register_channel,
            'other'
        ) as register_channel,
        if(app_account_attributes.has_app_account, app_account_attributes.account_registered_at, null)
            as registered_at,
        invitations.invited_accounts as invited_accounts,
        first_channel_joins.first_joined_at as first_channel_joined_at

    from people
    left join app_account_attributes on people.one_id = app_account_attributes.one_id
    left join douyin_attributes on people.one_id = douyin_attributes.one_id
    left join wecom_attributes on people.one_id = wecom_attributes.one_id
    left join order_attributes on people.one_id = order_attributes.one_id
    left join event_attributes on people.one_id = event_attributes.one_id
    left join invitations on people.one_id = invitations.one_id
    left join first_channel_joins on people.one_id = first_channel_joins.one_id

)

select * from merged
