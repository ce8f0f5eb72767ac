with

source as (

    select * from {{ source_or_empty('audience', 'contact_history') }}
    -- earlier nights only: tonight's rows are written after the build stage, so a rerun of the build must not
    -- see them either (the same tables on every run of a date)
    where run_date < toDate('{{ run_date() }}')

),

renamed as (

    -- plain String, not LowCardinality: a comparison of LowCardinality columns gives a LowCardinality(UInt8)
    -- that ClickHouse refuses to store in the marts
    select
        contact_id,
        run_date as send_date,
        cast(campaign_id as String) as campaign_id,
        one_id,
        cast(channel as String) as channel,
        cast(variant as String) as variant,
        cast(source as String) as source,
        replenishes

    from source

)

select * from renamed
