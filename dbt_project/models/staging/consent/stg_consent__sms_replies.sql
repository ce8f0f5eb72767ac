with

source as (

    select * from {{ source_or_empty('consent', 'sms_replies') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    -- every reply is a fact (a person can reply TD twice); exact duplicate lines were dropped at ingestion
    select
        phone_number as phone,
        content as reply_content,
        {{ is_unsubscribe_reply('content') }} as is_unsubscribe,
        send_time as replied_at,
        sign_name,
        dest_code,
        sequence_id,
        _drop_date,
        _line_number

    from source

)

select * from renamed
