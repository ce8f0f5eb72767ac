{{
    config(
        order_by='(one_id, event_at)',
    )
}}

{#-
    Every touchpoint event of a person up to the end of the run date (Beijing time), resolved to one_id: the
    one place activity is read from raw sources, so the summaries below scan one narrow table. App events of
    logged-out users resolve through their device id when identity resolution linked the device.
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

app_events as (

    select * from {{ ref('stg_app__events') }}

),

miniprogram_visits as (

    select * from {{ ref('stg_miniprogram__visits') }}

),

wechat_oa_events as (

    select * from {{ ref('stg_wechat_oa__events') }}

),

xiaoe_orders as (

    select * from {{ ref('stg_xiaoe__orders') }}

),

cdnow_transactions as (

    select * from {{ ref('stg_cdnow__transactions') }}

),

order_items as (

    select * from {{ ref('stg_orders__order_items') }}

),

sku_categories as (

    select
        sku_id,
        -- an SKU delivered with several categories: the first in alphabetical order (any() could differ per build)
        min(category) as sku_category

    from order_items
    where category is not null
    group by sku_id

),

app_events_with_person as (

    select
        coalesce(user_links.one_id, device_links.device_one_id) as one_id,
        app_events.event_id as event_id,
        app_events.event_name as event_name,
        app_events.event_at as event_at,
        app_events.os as os,
        app_events.sku_id as sku_id,
        app_events.search_keyword as search_keyword,
        app_events.nps_score as nps_score,
        app_events.satisfaction_score as satisfaction_score

    from app_events
    left join (
        select one_id, id_value from identity_links where id_type = 'app_user_id'
    ) as user_links
        on app_events.app_user_id = user_links.id_value
    left join (
        -- a device shared by several people resolves to none of them
        select any(one_id) as device_one_id, id_value from identity_links where id_type = 'device_id'
        group by id_value having uniqExact(one_id) = 1
    ) as device_links
        on app_events.device_id = device_links.id_value
    settings join_use_nulls = 1

),

unioned as (

    select
        assumeNotNull(one_id) as one_id,
        'app' as touchpoint,
        event_id as event_ref,
        event_name,
        event_at,
        os,
        sku_id,
        search_keyword,
        nps_score,
        satisfaction_score

    from app_events_with_person
    where one_id is not null

    union all

    select
        links.one_id,
        'miniprogram',
        miniprogram_visits.visit_id,
        'visit',
        miniprogram_visits.visited_at,
        null,
        null,
        null,
        null,
        null

    from miniprogram_visits
    inner join (
        select one_id, id_value from identity_links where id_type = 'miniprogram_openid'
    ) as links
        on miniprogram_visits.miniprogram_openid = links.id_value

    union all

    -- what a follower did; template send receipts are our own action, not theirs
    select
        links.one_id,
        'wechat_oa',
        '',
        wechat_oa_events.event_name,
        wechat_oa_events.event_at,
        null,
        null,
        null,
        null,
        null

    from wechat_oa_events
    inner join (
        select one_id, id_value from identity_links where id_type = 'wechat_oa_openid'
    ) as links
        on wechat_oa_events.wechat_oa_openid = links.id_value
    where wechat_oa_events.event_name in ('subscribe', 'click', 'view', 'scan')

    union all

    select
        links.one_id,
        'xiaoe',
        xiaoe_orders.xiaoe_order_id,
        'course_order',
        xiaoe_orders.created_at,
        null,
        null,
        null,
        null,
        null

    from xiaoe_orders
    inner join (
        select one_id, id_value from identity_links where id_type = 'xiaoe_user_id'
    ) as links
        on xiaoe_orders.xiaoe_user_id = links.id_value

    union all

    -- CDNOW only knows purchase days: noon Beijing time stands for "that day"
    select
        links.one_id,
        'cdnow',
        toString(cdnow_transactions._line_number),
        'purchase',
        toTimeZone(toDateTime64(toDateTime(cdnow_transactions.purchase_date, 'Asia/Shanghai'), 3) + interval 12 hour, 'UTC'),
        null,
        null,
        null,
        null,
        null

    from cdnow_transactions
    inner join (
        select one_id, id_value from identity_links where id_type = 'cdnow_customer_id'
    ) as links
        on cdnow_transactions.cdnow_customer_id = links.id_value

),

final as (

    select
        unioned.one_id as one_id,
        unioned.touchpoint as touchpoint,
        unioned.event_ref as event_ref,
        unioned.event_name as event_name,
        toDateTime64(unioned.event_at, 3, 'UTC') as event_at,
        toDate(unioned.event_at, 'Asia/Shanghai') as activity_date,
        toHour(unioned.event_at, 'Asia/Shanghai') as activity_hour,
        unioned.os as os,
        unioned.sku_id as sku_id,
        sku_categories.sku_category as sku_category,
        unioned.search_keyword as search_keyword,
        unioned.nps_score as nps_score,
        unioned.satisfaction_score as satisfaction_score

    from unioned
    left join sku_categories
        on unioned.sku_id = sku_categories.sku_id
    where toDate(unioned.event_at, 'Asia/Shanghai') <= toDate('{{ run_date() }}')

)

select * from final
