with

source as (

    select * from {{ source_or_empty('orders', 'orders') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- an order exported again (status change) keeps its newest record
    {{ latest_record_per_key('source', ['order_id']) }}

),

renamed as (

    select
        order_id,
        user_id as app_user_id,
        lower(trimBoth(order_type)) as order_type,
        nullIf(lower(trimBoth(channel)), '') as sales_channel,
        lower(trimBoth(status)) as order_status,
        total_amount as total_amount_fen,
        coalesce(discount_amount, 0) as discount_amount_fen,
        pay_amount as pay_amount_fen,
        nullIf(coupon_id, '') as coupon_id,
        receiver_phone,
        nullIf(trimBoth(city), '') as city,
        created_at,
        paid_at,
        nullIf(trimBoth(cancel_reason), '') as cancel_reason,
        {{ cancel_reason_code('cancel_reason') }} as cancel_reason_code,
        _drop_date

    from latest

)

select * from renamed
