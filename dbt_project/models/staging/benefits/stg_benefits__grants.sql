with

source as (

    select * from {{ source_or_empty('benefits', 'grants') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    select * from source
    order by _drop_date desc, _ingested_at desc, _line_number desc
    limit 1 by grant_id

),

renamed as (

    select
        grant_id,
        campaign_id,
        benefit_id,
        coalesce(nullIf(lower(trimBoth(benefit_type)), ''), 'coupon') as benefit_type,
        user_id as app_user_id,
        amount as amount_fen,
        grant_time as granted_at,
        expire_time as expires_at,
        _drop_date

    from deduplicated

)

select * from renamed
