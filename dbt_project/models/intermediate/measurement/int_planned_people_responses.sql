{{
    config(
        order_by='(campaign_id, send_date, contact_id, responded_at)',
    )
}}

{#-
    What the planned people did after their send: every touchpoint event (int_activity_events_unioned) and every
    paid b2c order of a person planned by a campaign (treated or holdout), on the Beijing days send_date + 1 ..
    send_date + response_days, where response_days covers both the retention curve (RETENTION_DAYS) and the
    campaign's conversion window. Channels send on the day after the export, so day 1 is the send day. The
    marts campaign_retention and campaign_funnel read it with ClickHouse's retention and windowFunnel.
-#}

{%- set retention_days = campaign_retention_days() %}

with

planned as (

    select * from {{ ref('stg_audience__campaign_audiences') }}

),

activity_events as (

    select * from {{ ref('int_activity_events_unioned') }}

),

orders as (

    select * from {{ ref('int_orders_joined_to_one_ids') }}

),

planned_people as (

    select
        contact_id,
        campaign_id,
        send_date,
        one_id,
        variant,
        {{ conversion_window_days('campaign_id') }} as conversion_window_days,
        greatest(conversion_window_days, toUInt16({{ retention_days }})) as response_days

    from planned

),

responses as (

    select
        one_id,
        event_at as responded_at,
        activity_date as response_date,
        toUInt8(0) as is_order

    from activity_events

    union all

    select
        one_id,
        -- a paid order has its paid_at and paid_date (is_paid)
        toDateTime64(assumeNotNull(paid_at), 3, 'UTC'),
        assumeNotNull(paid_date),
        toUInt8(1)

    from orders
    where is_paid = 1 and order_type = 'b2c'

),

final as (

    select
        planned_people.contact_id as contact_id,
        planned_people.campaign_id as campaign_id,
        planned_people.send_date as send_date,
        planned_people.variant as variant,
        planned_people.one_id as one_id,
        responses.responded_at as responded_at,
        toUInt16(dateDiff('day', planned_people.send_date, responses.response_date)) as day_after_send,
        responses.is_order as is_order,
        day_after_send <= planned_people.conversion_window_days as is_in_conversion_window

    from planned_people
    inner join responses
        on planned_people.one_id = responses.one_id
    where responses.response_date >= planned_people.send_date + 1
        and responses.response_date <= planned_people.send_date + planned_people.response_days

)

select * from final
