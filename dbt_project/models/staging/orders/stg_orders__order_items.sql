with

source as (

    select * from {{ source_or_empty('orders', 'order_items') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    {{ latest_record_per_key('source', ['item_id']) }}

),

renamed as (

    select
        item_id as order_item_id,
        order_id,
        sku_id,
        sku_name,
        nullIf(lower(trimBoth(category)), '') as category,
        quantity,
        unit_price as unit_price_fen,
        item_amount as item_amount_fen,
        _drop_date

    from latest

)

select * from renamed
