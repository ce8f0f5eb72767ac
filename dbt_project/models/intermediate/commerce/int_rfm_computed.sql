{{
    config(
        order_by='one_id',
    )
}}

{%- set run_date_sql = "toDate('" ~ run_date() ~ "')" %}

{#-
    Buy-till-you-die RFM as of the run date (Fader, Hardie & Lee), per person who ever purchased:
    frequency = purchase days - 1 (repeat purchase days); recency = days from first to last purchase day;
    age (T) = days from first purchase day to the run date; monetary = mean amount of the repeat purchase days
    (the first day excluded; 0 without repeats), in major currency units. A person's currency is that of their
    most recent purchase day; only purchase days in that currency count (there is no exchange rate to mix them).
    Marketing scores on top: R and F on fixed thresholds, M as the quintile among buyers of the same currency.
-#}

with

purchase_day_rows as (

    select * from {{ ref('int_purchase_days_aggregated') }}

),

person_currency as (

    select
        one_id,
        -- purchase days in two currencies on the latest date: the currency last in alphabetical order
        argMax(currency, (purchase_date, currency)) as latest_currency

    from purchase_day_rows
    group by one_id

),

measured as (

    select
        purchase_day_rows.one_id as one_id,
        any(person_currency.latest_currency) as currency,
        count() as purchase_days,
        min(purchase_day_rows.purchase_date) as first_purchase_date,
        max(purchase_day_rows.purchase_date) as last_purchase_date,
        sum(purchase_day_rows.day_amount_minor) as total_amount_minor,
        argMin(purchase_day_rows.day_amount_minor, purchase_day_rows.purchase_date) as first_day_amount_minor

    from purchase_day_rows
    inner join person_currency
        on purchase_day_rows.one_id = person_currency.one_id
        and purchase_day_rows.currency = person_currency.latest_currency
    group by purchase_day_rows.one_id

),

rfm as (

    select
        one_id,
        currency,
        purchase_days,
        first_purchase_date,
        last_purchase_date,
        toInt64(purchase_days - 1) as rfm_frequency,
        toInt64(dateDiff('day', first_purchase_date, last_purchase_date)) as rfm_recency_days,
        toInt64(dateDiff('day', first_purchase_date, {{ run_date_sql }})) as rfm_age_days,
        if(
            purchase_days > 1,
            (total_amount_minor - first_day_amount_minor) / (purchase_days - 1) / 100,
            0
        ) as rfm_monetary,
        total_amount_minor / purchase_days / 100 as mean_day_amount,
        total_amount_minor / 100 as lifetime_spend,
        toInt64(dateDiff('day', last_purchase_date, {{ run_date_sql }})) as days_since_last_purchase

    from measured

),

scored as (

    select
        *,
        toInt64(multiIf(
            days_since_last_purchase <= 30, 5,
            days_since_last_purchase <= 90, 4,
            days_since_last_purchase <= 180, 3,
            days_since_last_purchase <= 365, 2,
            1
        )) as rfm_r_score,
        toInt64(multiIf(
            purchase_days >= 10, 5,
            purchase_days >= 5, 4,
            purchase_days >= 3, 3,
            purchase_days = 2, 2,
            1
        )) as rfm_f_score,
        -- ties broken by one_id so the quintiles are reproducible
        toInt64(ntile(5) over (partition by currency order by mean_day_amount, one_id)) as rfm_m_score

    from rfm

),

final as (

    select
        *,
        multiIf(
            rfm_r_score >= 4 and rfm_f_score >= 4, 'champion',
            rfm_f_score >= 4, 'loyal',
            rfm_r_score >= 4 and rfm_f_score = 1, 'new_buyer',
            rfm_r_score >= 4, 'potential_loyalist',
            rfm_r_score <= 2 and rfm_f_score >= 3, 'at_risk',
            rfm_r_score <= 2, 'hibernating',
            'needs_attention'
        ) as rfm_segment

    from scored

)

select * from final
