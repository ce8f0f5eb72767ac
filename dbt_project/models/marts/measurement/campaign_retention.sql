{{
    config(
        order_by='(campaign_id, send_date, variant, day_after_send)',
        partition_by='toYYYYMM(send_date)',
    )
}}

{#-
    Retention curve of each arm (ClickHouse `retention`): of the people a campaign planned on a send date, the
    share active (any touchpoint event or paid order) on day k after the send, k = 1 .. RETENTION_DAYS. Treated
    variants and the holdout side by side show whether the campaign brought people back, not only whether they
    bought. Counted by intention to treat, like campaign_measurement.
-#}

{%- set retention_days = campaign_retention_days() %}

with

planned as (

    select * from {{ ref('stg_audience__campaign_audiences') }}

),

responses as (

    select * from {{ ref('int_planned_people_responses') }}

),

people as (

    -- retention(c1, c2, ..): element k is 1 when the person met c1 (planned: every row) and c(k)
    select
        planned.campaign_id as campaign_id,
        planned.send_date as send_date,
        planned.variant as variant,
        retention(
            true
            {%- for day in range(1, retention_days + 1) %},
            responses.day_after_send = {{ day }}
            {%- endfor %}
        ) as active_on_day

    from planned
    left join responses
        on planned.contact_id = responses.contact_id
    group by planned.contact_id, planned.campaign_id, planned.send_date, planned.variant

),

arms as (

    select
        campaign_id,
        send_date,
        variant,
        count() as planned_people,
        sumForEach(active_on_day) as active_people_per_day

    from people
    group by campaign_id, send_date, variant

),

final as (

    select
        campaign_id,
        send_date,
        variant,
        variant = 'holdout' as is_holdout,
        toUInt16(day_index) as day_after_send,
        planned_people,
        toUInt64(active_people_per_day[day_index + 1]) as active_people,
        active_people / planned_people as retention_rate,
        send_date + day_index <= toDate('{{ run_date() }}') as is_observed,
        toDate('{{ run_date() }}') as measured_through_date

    from arms
    array join range(1, {{ retention_days + 1 }}) as day_index

)

select * from final
