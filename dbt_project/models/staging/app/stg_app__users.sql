with

source as (

    select * from {{ source_or_empty('app', 'users') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a snapshot source: a user delivered again (later day, or twice in a day) keeps only its newest record
    {{ latest_record_per_key('source', ['user_id'], newest_first_by=['update_time']) }}

),

renamed as (

    select
        user_id as app_user_id,
        phone,
        phone_original,
        device_ids,
        nullIf(lower(trimBoth(os)), '') as os,
        register_time as registered_at,
        register_time_original as registered_at_original,
        nickname,
        {{ gender_code('gender') }} as gender,
        nullIf(trimBoth(city), '') as city,
        nullIf(lower(trimBoth(register_channel)), '') as register_channel,
        nullIf(inviter_id, '') as inviter_app_user_id,
        update_time as updated_at,
        _drop_date,
        _batch_id,
        _source_file,
        _line_number

    from latest

)

select * from renamed
