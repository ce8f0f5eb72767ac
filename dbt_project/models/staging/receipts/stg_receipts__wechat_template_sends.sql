with

source as (

    select * from {{ source_or_empty('receipts', 'wechat_template') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        touser as wechat_oa_openid,
        template_id,
        msgid as template_message_id,
        errcode as error_code,
        errmsg as error_message,
        toBool(errcode = 0) as is_sent,
        send_time as sent_at,
        _drop_date,
        _line_number

    from source

)

select * from renamed
