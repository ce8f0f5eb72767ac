with

source as (

    select * from {{ source_or_empty('wechat_oa', 'events') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        ToUserName as official_account_id,
        FromUserName as wechat_oa_openid,
        CreateTime as event_at,
        lower(MsgType) as message_type,
        lower(Event) as event_name,
        EventKey as event_key,
        MsgID as template_message_id,
        Status as template_status,
        _drop_date,
        _line_number,
        _is_late

    from source

)

select * from renamed
