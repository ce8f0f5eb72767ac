with

source as (

    select * from {{ source_or_empty('douyin', 'leads') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    {{ latest_record_per_key('source', ['clue_id']) }}

),

renamed as (

    select
        clue_id as lead_id,
        nullIf(open_id, '') as douyin_open_id,
        name as lead_name,
        telephone as phone,
        nullIf(lower(trimBoth(clue_source)), '') as lead_source,
        advertiser_id,
        ad_id,
        nullIf(trimBoth(city), '') as city,
        create_time as created_at,
        _drop_date

    from deduplicated

)

select * from renamed
