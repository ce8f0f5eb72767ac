with

source as (

    select * from {{ source_or_empty('cdnow', 'transactions') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

renamed as (

    -- no de-duplication: identical lines are separate purchases (the log has no order id)
    select
        customer_id as cdnow_customer_id,
        order_date as purchase_date,
        number_of_cds,
        amount_cents,
        amount_cents_original,
        _drop_date,
        _source_file,
        _line_number

    from source
    where order_date <= toDate('{{ run_date() }}')

)

select * from renamed
