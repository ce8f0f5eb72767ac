{{
    config(
        order_by='(one_id, created_at)',
    )
}}

{#-
    One row per order with its person and its refunds. Net amount = paid amount minus SUCCESSFUL refunds
    (processing and rejected refunds do not count), never below zero. An order counts as paid when it has a
    payment time and its status is not 'created' (an unpaid order can carry no paid_at).
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

orders as (

    select * from {{ ref('stg_orders__orders') }}

),

refunds as (

    select * from {{ ref('stg_orders__refunds') }}

),

successful_refunds as (

    select
        order_id,
        sum(refund_amount_fen) as refunded_amount_fen,
        -- refunds at the same instant: the greatest refund_id's reason, the same on every build
        argMax(refund_reason_code, (refunded_at, refund_id)) as latest_refund_reason_code,
        max(refunded_at) as last_refunded_at

    from refunds
    where refund_status = 'success'
        and toDate(refunded_at, 'Asia/Shanghai') <= toDate('{{ run_date() }}')
    group by order_id

),

app_user_links as (

    select one_id, id_value from identity_links where id_type = 'app_user_id'

),

joined as (

    select
        app_user_links.one_id as one_id,
        orders.order_id as order_id,
        orders.order_type as order_type,
        orders.order_status as order_status,
        orders.sales_channel as sales_channel,
        orders.city as city,
        orders.created_at as created_at,
        orders.paid_at as paid_at,
        orders.pay_amount_fen as pay_amount_fen,
        orders.coupon_id is not null as coupon_used,
        orders.cancel_reason_code as cancel_reason_code,
        successful_refunds.refunded_amount_fen as refunded_amount_fen,
        successful_refunds.latest_refund_reason_code as matched_refund_reason_code,
        successful_refunds.last_refunded_at as matched_last_refunded_at,
        successful_refunds.refunded_amount_fen > 0 as has_successful_refund

    from orders
    inner join app_user_links
        on orders.app_user_id = app_user_links.id_value
    left join successful_refunds
        on orders.order_id = successful_refunds.order_id

),

final as (

    select
        one_id,
        order_id,
        order_type,
        order_status,
        sales_channel,
        city,
        created_at,
        paid_at,
        toUInt8(paid_at is not null and order_status != 'created') as is_paid,
        if(is_paid = 1, toDate(paid_at, 'Asia/Shanghai'), null) as paid_date,
        pay_amount_fen,
        refunded_amount_fen,
        greatest(pay_amount_fen - refunded_amount_fen, 0) as net_amount_fen,
        toUInt8(coupon_used) as used_coupon,
        cancel_reason_code,
        toUInt8(has_successful_refund) as is_refunded,
        if(has_successful_refund, matched_refund_reason_code, null) as refund_reason_code,
        if(has_successful_refund, matched_last_refunded_at, null) as last_refunded_at

    from joined
    where toDate(created_at, 'Asia/Shanghai') <= toDate('{{ run_date() }}')

)

select * from final
