with

source as (

    select * from {{ source_or_empty('receipts', 'outbound_call') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

deduplicated as (

    {{ latest_record_per_key('source', ['call_id']) }}

),

renamed as (

    select
        call_id,
        task_id,
        callee as phone,
        call_time as called_at,
        duration as connected_seconds,
        call_result,
        multiIf(
            call_result = '已接通', 'connected',
            call_result = '未接通', 'no_answer',
            call_result = '拒接', 'rejected',
            call_result = '关机', 'powered_off',
            call_result = '停机', 'suspended',
            call_result = '空号', 'invalid_number',
            'other'
        ) as call_result_code,
        nullIf(upper(trimBoth(intent_level)), '') as intent_level,
        _drop_date

    from deduplicated

)

select * from renamed
