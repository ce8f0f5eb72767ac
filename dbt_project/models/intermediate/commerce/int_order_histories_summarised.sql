{{
    config(
        order_by='one_id',
    )
}}

{%- set run_date_sql = "toDate('" ~ run_date() ~ "')" %}

{#-
    What a person's orders and valuations say about them: the C2B funnel (valuation -> C2B order -> completed),
    the latest cancel and refund reasons, and how often paid B2C orders used a coupon.
-#}

with

orders as (

    select * from {{ ref('int_orders_joined_to_one_ids') }}

),

activity as (

    select * from {{ ref('int_activity_summarised') }}

),

xiaoe_orders as (

    select * from {{ ref('stg_xiaoe__orders') }}

),

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

per_person_orders as materialized (

    select
        one_id,
        countIf(order_type = 'c2b') as c2b_orders,
        countIf(order_type = 'c2b' and order_status = 'completed') as completed_c2b_orders,
        maxIf(created_at, order_type = 'c2b') as last_c2b_order_at,
        -- ties on the time (orders created at the same instant): the greatest order_id, the same on every build
        argMaxIf(cancel_reason_code, (created_at, order_id), order_type = 'c2b' and order_status = 'cancelled')
            as c2b_cancel_reason,
        argMaxIf(cancel_reason_code, (created_at, order_id), order_type = 'b2c' and order_status = 'cancelled')
            as b2c_cancel_reason,
        argMaxIf(refund_reason_code, (last_refunded_at, order_id), is_refunded = 1) as refund_reason,
        countIf(is_refunded = 1) as refunded_orders,
        countIf(order_type = 'b2c' and is_paid = 1) as paid_b2c_orders,
        countIf(order_type = 'b2c' and is_paid = 1 and used_coupon = 1) as coupon_b2c_orders

    from orders
    group by one_id

),

course_buyers as materialized (

    -- a marker column: a person missing from this side of a left join reads 0
    select distinct
        links.one_id as one_id,
        toUInt8(1) as is_course_buyer

    from xiaoe_orders
    inner join (
        select one_id, id_value from identity_links where id_type = 'xiaoe_user_id'
    ) as links
        on xiaoe_orders.xiaoe_user_id = links.id_value
    where xiaoe_orders.order_state = 'paid'
        and toDate(coalesce(xiaoe_orders.paid_at, xiaoe_orders.created_at), 'Asia/Shanghai') <= {{ run_date_sql }}

),

valuations as materialized (

    select one_id, last_valuation_at from activity where has_valuation = 1

),

people as (

    select one_id from per_person_orders
    union distinct
    select one_id from valuations
    union distinct
    select one_id from course_buyers

),

joined as (

    select
        people.one_id as one_id,
        per_person_orders.c2b_orders as c2b_orders,
        per_person_orders.completed_c2b_orders as completed_c2b_orders,
        per_person_orders.last_c2b_order_at as last_c2b_order_at,
        per_person_orders.c2b_cancel_reason as c2b_cancel_reason_code,
        per_person_orders.b2c_cancel_reason as b2c_cancel_reason_code,
        per_person_orders.refund_reason as refund_reason_code,
        per_person_orders.refunded_orders as refunded_orders,
        per_person_orders.paid_b2c_orders as paid_b2c_orders,
        per_person_orders.coupon_b2c_orders as coupon_b2c_orders,
        valuations.last_valuation_at is not null as has_valuation,
        valuations.last_valuation_at as last_valuation_at,
        course_buyers.is_course_buyer as is_course_buyer

    from people
    left join per_person_orders on people.one_id = per_person_orders.one_id
    left join valuations on people.one_id = valuations.one_id
    left join course_buyers on people.one_id = course_buyers.one_id

),

final as (

    select
        one_id,
        multiIf(
            completed_c2b_orders > 0, 'completed',
            c2b_orders > 0, 'ordered',
            has_valuation, 'valued',
            'none'
        ) as c2b_funnel_stage,
        toUInt8(
            last_valuation_at is not null
            and toDate(last_valuation_at, 'Asia/Shanghai') > {{ run_date_sql }} - 30
            and (c2b_orders = 0 or last_c2b_order_at < last_valuation_at)
        ) as is_valued_no_order,
        if(empty(c2b_cancel_reason_code), 'none', c2b_cancel_reason_code) as c2b_cancel_reason,
        if(empty(b2c_cancel_reason_code), 'none', b2c_cancel_reason_code) as b2c_cancel_reason,
        if(empty(coalesce(refund_reason_code, '')), 'none', refund_reason_code) as refund_reason,
        toInt64(refunded_orders) as refunded_orders,
        toInt64(paid_b2c_orders) as paid_b2c_orders,
        toInt64(coupon_b2c_orders) as coupon_b2c_orders,
        toUInt8(is_course_buyer) as is_course_buyer

    from joined

)

select * from final
