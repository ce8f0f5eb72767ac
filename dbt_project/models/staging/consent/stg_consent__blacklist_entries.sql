with

source as (

    select * from {{ source_or_empty('consent', 'blacklist') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest_snapshot as (

    -- the blacklist is a full snapshot every day: only the newest one on or before the run date is in force
    select * from source
    where _drop_date = (select max(_drop_date) from source)

),

deduplicated as (

    {{ latest_record_per_key('latest_snapshot', ['list_id']) }}

),

renamed as (

    select
        list_id as blacklist_entry_id,
        phone,
        nullIf(user_id, '') as app_user_id,
        nullIf(device_id, '') as device_id,
        coalesce(nullIf(lower(trimBoth(risk_level)), ''), 'high') as risk_level,
        nullIf(lower(trimBoth(reason)), '') as listed_reason,
        listed_at,
        _drop_date

    from deduplicated

)

select * from renamed
