with

source as (

    select * from {{ source_or_empty('audience', 'campaign_audience') }}
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
        cast(variant as String) as variant,
        cast(channel as String) as channel,
        cast(benefit_id as String) as benefit_id,
        cost_fen

    from source

)

select * from renamed
