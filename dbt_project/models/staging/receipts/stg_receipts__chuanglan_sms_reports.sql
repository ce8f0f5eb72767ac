with

source as (

    select * from {{ source_or_empty('receipts', 'chuanglan_sms') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        msgid as vendor_send_id,
        mobile as phone,
        upper(trimBoth(status)) as delivery_status,
        toBool(upper(trimBoth(status)) = 'DELIVRD') as is_delivered,
        statusDesc as status_description,
        reportTime as reported_at,
        uid as campaign_ref,
        _drop_date,
        _line_number

    from source

)

select * from renamed
