with

source as (

    select * from {{ source_or_empty('benefits', 'expiries') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    -- a grant expires once
    {{ latest_record_per_key('source', ['grant_id']) }}

),

renamed as (

    select
        grant_id,
        user_id as app_user_id,
        amount as amount_fen,
        expire_time as expired_at,
        _drop_date

    from deduplicated

)

select * from renamed
