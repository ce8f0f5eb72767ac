with

source as (

    select * from {{ source_or_empty('benefits', 'grants') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    {{ latest_record_per_key('source', ['grant_id']) }}

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
        -- the requester's key: Nightshift's contact_id when the grant answers one of its campaign contacts
        nullIf(out_request_no, '') as contact_id,
        _drop_date

    from deduplicated

)

select * from renamed
