with

source as (

    select * from {{ source_or_empty('douyin', 'fans') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a snapshot source: newest record per fan
    {{ latest_record_per_key('source', ['open_id']) }}

),

renamed as (

    select
        open_id as douyin_open_id,
        nullIf(union_id, '') as douyin_union_id,
        nickname,
        {{ gender_code('gender') }} as gender,
        nullIf(trimBoth(city), '') as city,
        nullIf(trimBoth(province), '') as province,
        follow_time as followed_at,
        _drop_date

    from latest

)

select * from renamed
