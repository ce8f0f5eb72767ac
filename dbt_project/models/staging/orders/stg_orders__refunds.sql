with

source as (

    select * from {{ source_or_empty('orders', 'refunds') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a refund is re-exported when its status changes (processing -> success | rejected): newest wins
    {{ latest_record_per_key('source', ['refund_id'], newest_first_by=['refund_time']) }}

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
