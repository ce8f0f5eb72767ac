with

source as (

    select * from {{ source_or_empty('xiaoe', 'orders') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    {{ latest_record_per_key('source', ['order_id']) }}

),

renamed as (

    select
        order_id as xiaoe_order_id,
        user_id as xiaoe_user_id,
        resource_id,
        resource_type,
        goods_name,
        price as list_price_fen,
        actual_fee as paid_amount_fen,
        multiIf(
            order_state = 0, 'unpaid',
            order_state = 1, 'paid',
            order_state = 2, 'closed',
            order_state = 3, 'refunded',
            'unknown'
        ) as order_state,
        created_at,
        pay_time as paid_at,
        _drop_date

    from latest

)

select * from renamed
