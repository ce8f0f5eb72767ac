with

source as (

    select * from {{ source_or_empty('miniprogram', 'visits') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    {{ latest_record_per_key('source', ['visit_id']) }}

),

renamed as (

    select
        visit_id,
        openid as miniprogram_openid,
        lower(trimBoth(page)) as page,
        scene as wechat_scene,
        visit_time as visited_at,
        stay_time as stay_seconds,
        _drop_date,
        _is_late

    from deduplicated

)

select * from renamed
