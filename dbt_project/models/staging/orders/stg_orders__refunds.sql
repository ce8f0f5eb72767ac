with

source as (

    select * from {{ source_or_empty('orders', 'refunds') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a refund is re-exported when its status changes (processing -> success | rejected): newest wins
    select * from source
    order by _drop_date desc, refund_time desc, _ingested_at desc, _line_number desc
    limit 1 by refund_id

),

renamed as (

    select
        refund_id,
        order_id,
        user_id as app_user_id,
        refund_amount as refund_amount_fen,
        nullIf(trimBoth(refund_reason), '') as refund_reason,
        {{ refund_reason_code('refund_reason') }} as refund_reason_code,
        -- an absent status is an old export format that only listed completed refunds
        coalesce(nullIf(lower(trimBoth(refund_status)), ''), 'success') as refund_status,
        refund_time as refunded_at,
        _drop_date

    from latest

)

select * from renamed
