with

source as (

    select * from {{ source_or_empty('app', 'events') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    -- an event re-delivered on a later day counts once
    {{ latest_record_per_key('source', ['event_id']) }}

),

renamed as (

    select
        event_id,
        lower(trimBoth(event)) as event_name,
        event_time as event_at,
        nullIf(user_id, '') as app_user_id,
        device_id,
        nullIf(lower(trimBoth(os)), '') as os,
        app_version,
        nullIf(lower(trimBoth(page)), '') as page,
        nullIf(trimBoth(keyword), '') as search_keyword,
        nullIf(trimBoth(sku_id), '') as sku_id,
        estimate_price as estimate_price_fen,
        nullIf(order_id, '') as order_id,
        amount as amount_fen,
        nullIf(trimBoth(cancel_reason), '') as cancel_reason,
        {{ cancel_reason_code('cancel_reason') }} as cancel_reason_code,
        nullIf(coupon_id, '') as coupon_id,
        nullIf(lower(trimBoth(share_channel)), '') as share_channel,
        nullIf(inviter_id, '') as inviter_app_user_id,
        nps_score,
        satisfaction as satisfaction_score,
        _drop_date,
        _is_late

    from deduplicated

)

select * from renamed
