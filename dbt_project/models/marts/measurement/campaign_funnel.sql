{{
    config(
        order_by='(campaign_id, send_date, variant, step_number)',
        partition_by='toYYYYMM(send_date)',
    )
}}

{#-
    Conversion funnel of each arm (ClickHouse `windowFunnel`): planned (the start of the send day, Beijing) ->
    came back (any touchpoint event or paid order in the conversion window) -> paid order in the window. An
    order is also a return, so one order can reach both later steps. The last step counts the same people as
    campaign_measurement's converted_people summed over the arm's channels.
-#}

with

planned as (

    select * from {{ ref('stg_audience__campaign_audiences') }}

),

responses as (

    select * from {{ ref('int_planned_people_responses') }}
    where is_in_conversion_window

),

steps as (

    select
        contact_id,
        toDateTime64(toDateTime(send_date + 1, 'Asia/Shanghai'), 3, 'UTC') as happened_at,
        toUInt8(1) as is_planned,
        toUInt8(0) as is_return,
        toUInt8(0) as is_order

    from planned

    union all

    select contact_id, responded_at, 0, 1, is_order
    from responses

),

people as (

    -- responses are already limited to each person's window: the funnel's own window only has to span it
    select
        planned.campaign_id as campaign_id,
        planned.send_date as send_date,
        planned.variant as variant,
        windowFunnel(toUInt64(366 * 86400))(
            toDateTime(steps.happened_at, 'UTC'), steps.is_planned = 1, steps.is_return = 1, steps.is_order = 1
        ) as reached_step

    from planned
    inner join steps
        on planned.contact_id = steps.contact_id
    group by planned.contact_id, planned.campaign_id, planned.send_date, planned.variant

),

arms as (

    select
        campaign_id,
        send_date,
        variant,
        count() as planned_people,
        countIf(reached_step >= 2) as returned_people,
        countIf(reached_step >= 3) as ordered_people

    from people
    group by campaign_id, send_date, variant

),

final as (

    select
        campaign_id,
        send_date,
        variant,
        variant = 'holdout' as is_holdout,
        toUInt8(step.1) as step_number,
        step.2 as step_name,
        toUInt64(step.3) as people,
        people / planned_people as share_of_planned,
        toDate('{{ run_date() }}') as measured_through_date

    from arms
    array join [
        (1, 'planned', planned_people),
        (2, 'came back', returned_people),
        (3, 'paid order', ordered_people)
    ] as step

)

select * from final
