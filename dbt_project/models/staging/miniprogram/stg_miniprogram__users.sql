with

source as (

    select * from {{ source_or_empty('miniprogram', 'users') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a snapshot source: newest record per openid
    {{ latest_record_per_key('source', ['openid']) }}

),

renamed as (

    select
        openid as miniprogram_openid,
        nullIf(unionid, '') as unionid,
        purePhoneNumber as phone,
        countryCode as country_code,
        first_visit_time as first_visited_at,
        phone_auth_time as phone_authorised_at,
        _drop_date

    from latest

)

select * from renamed
