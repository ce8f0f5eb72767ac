with

source as (

    select * from {{ source_or_empty('consent', 'complaints') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    {{ latest_record_per_key('source', ['complaint_id']) }}

),

renamed as (

    select
        complaint_id,
        phone,
        {{ consent_channel('channel') }} as complaint_channel,
        nullIf(trimBoth(complaint_source), '') as complaint_source,
        nullIf(trimBoth(complaint_type), '') as complaint_type,
        created_at as complained_at,
        _drop_date

    from deduplicated

)

select * from renamed
