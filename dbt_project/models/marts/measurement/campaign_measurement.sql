{{
    config(
        order_by='(campaign_id, send_date, variant, channel)',
        partition_by='toYYYYMM(send_date)',
    )
}}

{#-
    Intention to treat: every planned person counts in their arm, whether or not the export reached them, so the
    variants and the holdout (split at random by the audiences stage) stay comparable. A conversion is a paid
    b2c order (a purchase) of the person paid on send_date + 1 .. send_date + conversion_window_days (channels send
    on the day after the export). Per-person figures are summed, with the sum of squares of GMV per person, so
    the statistics (nightshift/measurement) can run a Welch test from this table alone.
-#}

with

planned as (

    select * from {{ ref('stg_audience__campaign_audiences') }}

),

contact_histories as (

    select * from {{ ref('stg_audience__contact_histories') }}

),

reconciliation_items as (

    select * from {{ ref('stg_audience__reconciliation_items') }}

),

orders as (

    select * from {{ ref('int_orders_joined_to_one_ids') }}

),

grants as (

    select * from {{ ref('stg_benefits__grants') }}

),

redemptions as (

    select * from {{ ref('stg_benefits__redemptions') }}

),

clicks as (

    select * from {{ ref('int_clicks_resolved') }}

),

planned_people as (

    select
        contact_id,
        send_date,
        campaign_id,
        one_id,
        variant,
        channel,
        {{ conversion_window_days('campaign_id') }} as conversion_window_days

    from planned

),

exported_contacts as (

    select distinct contact_id from contact_histories where source = 'plan'

),

purchases as (

    select one_id, paid_date, pay_amount_fen
    from orders
    where is_paid = 1 and order_type = 'b2c'

),

person_conversions as (

    select
        planned_people.contact_id as contact_id,
        count() as conversion_orders,
        sum(purchases.pay_amount_fen) as gmv_fen

    from planned_people
    inner join purchases
        on planned_people.one_id = purchases.one_id
    where purchases.paid_date >= planned_people.send_date + 1
        and purchases.paid_date <= planned_people.send_date + planned_people.conversion_window_days
    group by planned_people.contact_id

),

clicked_contacts as (

    -- planned people who clicked the campaign's short link from the send date to the end of the conversion
    -- window (Beijing days); the holdout got no link, so it never clicks
    select distinct planned_people.contact_id as contact_id

    from planned_people
    inner join clicks
        on planned_people.campaign_id = clicks.campaign_id
        and planned_people.one_id = clicks.one_id
    where clicks.clicked_date >= planned_people.send_date
        and clicks.clicked_date <= planned_people.send_date + planned_people.conversion_window_days

),

person_redemptions as (

    select
        grants.contact_id as contact_id,
        count() as benefits_redeemed,
        sum(redemptions.amount_fen) as benefit_cost_fen

    from redemptions
    inner join grants
        on redemptions.grant_id = grants.grant_id
    where grants.contact_id is not null
    group by grants.contact_id

),

people as (

    select
        planned_people.send_date as send_date,
        planned_people.campaign_id as campaign_id,
        planned_people.variant as variant,
        planned_people.channel as channel,
        planned_people.conversion_window_days as conversion_window_days,
        coalesce(exported_contacts.contact_id, '') != '' as is_exported,
        coalesce(reconciliation_items.vendor_status, '') = 'delivered' as is_delivered,
        coalesce(clicked_contacts.contact_id, '') != '' as is_clicked,
        coalesce(person_conversions.conversion_orders, 0) as person_orders,
        coalesce(person_conversions.gmv_fen, 0) as person_gmv_fen,
        coalesce(person_redemptions.benefits_redeemed, 0) as person_benefits_redeemed,
        coalesce(person_redemptions.benefit_cost_fen, 0) as person_benefit_cost_fen

    from planned_people
    left join exported_contacts
        on planned_people.contact_id = exported_contacts.contact_id
    left join reconciliation_items
        on planned_people.contact_id = reconciliation_items.contact_id
    left join clicked_contacts
        on planned_people.contact_id = clicked_contacts.contact_id
    left join person_conversions
        on planned_people.contact_id = person_conversions.contact_id
    left join person_redemptions
        on planned_people.contact_id = person_redemptions.contact_id

),

aggregated as (

    select
        campaign_id,
        send_date,
        variant,
        channel,
        conversion_window_days,
        count() as planned_people,
        countIf(is_exported) as exported_people,
        countIf(is_delivered) as delivered_people,
        countIf(is_clicked) as clicked_people,
        countIf(person_orders > 0) as converted_people,
        toUInt64(sum(person_orders)) as conversion_orders,
        toInt64(sum(person_gmv_fen)) as gmv_fen,
        sum(toFloat64(person_gmv_fen) * toFloat64(person_gmv_fen)) as gmv_fen_sum_of_squares,
        toUInt64(sum(person_benefits_redeemed)) as benefits_redeemed,
        toInt64(sum(person_benefit_cost_fen)) as benefit_cost_fen

    from people
    group by campaign_id, send_date, variant, channel, conversion_window_days

),

final as (

    select
        campaign_id,
        send_date,
        variant,
        channel,
        variant = 'holdout' as is_holdout,
        conversion_window_days,
        toUInt16(least(conversion_window_days, greatest(dateDiff('day', send_date, measured_through_date), 0)))
            as observed_days,
        observed_days >= conversion_window_days as is_window_complete,
        planned_people,
        exported_people,
        delivered_people,
        clicked_people,
        converted_people,
        conversion_orders,
        gmv_fen,
        gmv_fen_sum_of_squares,
        benefits_redeemed,
        benefit_cost_fen,
        toDate('{{ run_date() }}') as measured_through_date

    from aggregated

)

select * from final
