with

source as (

    select * from {{ source_or_empty('xiaoe', 'users') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    {{ latest_record_per_key('source', ['user_id']) }}

),

renamed as (

    select
        user_id as xiaoe_user_id,
        nickname,
        phone,
        nullIf(wx_union_id, '') as unionid,
        user_created_at as created_at,
        _drop_date

    from latest

)

select * from renamed
