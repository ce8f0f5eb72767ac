with

source as (

    select * from {{ source('app', 'users') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a user delivered again (later day, or twice in a day) keeps only its newest record
    select * from source
    order by _drop_date desc, _ingested_at desc, _line_number desc
    limit 1 by user_id

),

renamed as (

    select
        user_id as app_user_id,
        phone,
        phone_original,
        nullIf(lower(trimBoth(os)), '') as os,
        register_time as registered_at,
        register_time_original as registered_at_original,
        _drop_date,
        _batch_id,
        _source_file,
        _line_number

    from latest

)

select * from renamed
