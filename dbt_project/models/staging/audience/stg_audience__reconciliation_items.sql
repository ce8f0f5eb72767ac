with

source as (

    select * from {{ source_or_empty('audience', 'reconciliation_items') }}
    where run_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a key is reconciled again every night of its lag window: its newest night says the most
    select * from source
    order by run_date desc
    limit 1 by contact_id

),

renamed as (

    select
        contact_id,
        toString(vendor_status) as vendor_status,
        toString(class) as reconciliation_class,
        run_date as reconciled_run_date

    from latest

)

select * from renamed
