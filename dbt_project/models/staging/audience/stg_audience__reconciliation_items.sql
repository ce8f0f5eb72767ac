with

source as (

    select * from {{ source_or_empty('audience', 'reconciliation_items') }}
    -- earlier nights only: tonight's rows are written after the build stage, so a rerun of the build must not
    -- see them either (the same tables on every run of a date)
    where run_date < toDate('{{ run_date() }}')

),

latest as (

    -- a key is reconciled again every night of its lag window: its newest night says the most
    select * from source
    order by run_date desc
    limit 1 by contact_id

),

renamed as (

    -- plain String, not LowCardinality: a comparison of LowCardinality columns gives a LowCardinality(UInt8)
    -- that ClickHouse refuses to store in the marts
    select
        contact_id,
        cast(vendor_status as String) as vendor_status,
        cast(class as String) as reconciliation_class,
        run_date as reconciled_run_date

    from latest

)

select * from renamed
