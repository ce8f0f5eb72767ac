with

source as (

    select * from {{ source_or_empty('consent', 'whitelist') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest_snapshot as (

    -- the whitelist of internal test accounts is a full snapshot every day: the newest one is in force
    select * from source
    where _drop_date = (select max(_drop_date) from source)

),

deduplicated as (

    {{ latest_record_per_key('latest_snapshot', ['phone', 'user_id']) }}

),

renamed as (

    select
        phone,
        nullIf(user_id, '') as app_user_id,
        owner as owner_name,
        note,
        added_at,
        _drop_date

    from deduplicated

)

select * from renamed
