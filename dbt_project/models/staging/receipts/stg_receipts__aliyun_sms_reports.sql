with

source as (

    select * from {{ source_or_empty('receipts', 'aliyun_sms') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        biz_id as vendor_send_id,
        phone_number as phone,
        send_time as sent_at,
        report_time as reported_at,
        toBool(success) as is_delivered,
        err_code as error_code,
        err_msg as error_message,
        sms_size as sms_segments,
        out_id as campaign_ref,
        _drop_date,
        _line_number

    from source

)

select * from renamed
