with

source as (

    select * from {{ source_or_empty('receipts', 'jpush') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        msg_id as push_message_id,
        registration_id,
        nullIf(alias, '') as app_user_id,
        nullIf(lower(platform), '') as platform,
        lower(trimBoth(status)) as callback_status,
        report_time as reported_at,
        _drop_date,
        _line_number

    from source

)

select * from renamed
