{{ config(materialized='view') }}

{#-
    Every purchase a person made up to the run date, from the order system and from the CDNOW log, in one shape.
    Orders: B2C (we sell), paid, dated by the payment's Beijing calendar day, for their amount net of successful
    refunds; an order refunded in full is not a purchase. C2B orders are us buying from the person, not a
    purchase. CDNOW: every line is a purchase (identical lines are separate purchases), amount in USD cents.
    Amounts stay in minor units (fen / cents) with their currency; they are never converted.
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

orders as (

    select * from {{ ref('int_orders_joined_to_one_ids') }}

),

cdnow_transactions as (

    select * from {{ ref('stg_cdnow__transactions') }}

),

order_purchases as (

    select
        one_id,
        'orders' as purchase_source,
        order_id as purchase_ref,
        assumeNotNull(paid_date) as purchase_date,
        net_amount_fen as amount_minor,
        'CNY' as currency

    from orders
    where order_type = 'b2c'
        and is_paid = 1
        and paid_date <= toDate('{{ run_date() }}')
        and net_amount_fen > 0

),

cdnow_purchases as (

    select
        links.one_id as one_id,
        'cdnow' as purchase_source,
        cdnow_transactions._source_file || ':' || toString(cdnow_transactions._line_number) as purchase_ref,
        cdnow_transactions.purchase_date as purchase_date,
        cdnow_transactions.amount_cents as amount_minor,
        'USD' as currency

    from cdnow_transactions
    inner join (
        select one_id, id_value from identity_links where id_type = 'cdnow_customer_id'
    ) as links
        on cdnow_transactions.cdnow_customer_id = links.id_value

),

unioned as (

    select * from order_purchases
    union all
    select * from cdnow_purchases

)

select * from unioned
