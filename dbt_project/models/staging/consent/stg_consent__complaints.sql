with

source as (

    select * from {{ source_or_empty('consent', 'complaints') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    select * from source
    order by _drop_date desc, _ingested_at desc, _line_number desc
    limit 1 by complaint_id

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
