with

source as (

    select * from {{ source_or_empty('clicks', 'clicks') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    -- a click's line delivered twice (a file re-delivered, a line read twice) is one click
    {{ latest_record_per_key('source', ['click_id']) }}

),

renamed as (

    select
        click_id,
        code,
        clicked_at,
        toDate(clicked_at, 'Asia/Shanghai') as clicked_date,
        coalesce(user_agent, '') as user_agent,
        ip_hash,
        _drop_date

    from deduplicated

)

select * from renamed
