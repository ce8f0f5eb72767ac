with

source as (

    select * from {{ source_or_empty('benefits', 'redemptions') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    {{ latest_record_per_key('source', ['redemption_id']) }}

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
