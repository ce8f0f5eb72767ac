{{
    config(
        order_by='(one_id, purchase_date)',
    )
}}

{#-
    Buy-till-you-die counts purchase DAYS, not orders: all purchases of a person on one calendar day are one
    purchase whose amount is their sum. A person buying in two currencies on one day gets one row per currency
    (never summed across currencies).
-#}

with

purchases as (

    select * from {{ ref('int_purchases_unioned') }}

),

aggregated as (

    select
        one_id,
        purchase_date,
        currency,
        sum(amount_minor) as day_amount_minor,
        count() as purchases

    from purchases
    group by one_id, purchase_date, currency

)

select * from aggregated
