with

source as (

    select * from {{ source_or_empty('benefits', 'redemptions') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    select * from source
    order by _drop_date desc, _ingested_at desc, _line_number desc
    limit 1 by redemption_id

),

renamed as (

    select
        redemption_id,
        grant_id,
        user_id as app_user_id,
        order_id,
        amount as amount_fen,
        redeem_time as redeemed_at,
        _drop_date

    from deduplicated

)

select * from renamed
