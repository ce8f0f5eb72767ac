with

source as (

    select * from {{ source_or_empty('consent', 'opt_outs') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    -- every preference change is kept: the latest change per channel decides (an opt-in re-enables)
    select
        user_id as app_user_id,
        {{ consent_channel('channel') }} as consent_channel,
        toBool(opt_out) as is_opt_out,
        nullIf(lower(trimBoth(source)), '') as change_source,
        change_time as changed_at,
        _drop_date,
        _line_number

    from source

)

select * from renamed
