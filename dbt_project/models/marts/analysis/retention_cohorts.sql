{{
    config(
        order_by='cohort_date',
        partition_by='toYYYYMM(cohort_date)',
    )
}}

{%- set retention_days = [1, 7, 30] %}

with

activity_events as (

    select * from {{ ref('int_activity_events_unioned') }}

),

person_active_days as (

    -- activity_date is the Beijing calendar day, the business day of the app and of the landing drops
    select distinct
        one_id,
        activity_date as active_date

    from activity_events
    where touchpoint = 'app'
        and activity_date <= toDate('{{ run_date() }}')

),

first_active_days as (

    select
        one_id,
        min(active_date) as cohort_date

    from person_active_days
    group by one_id

),

retention_per_person as (

    -- retention(c0, c1, ...)[k + 1] = 1 when the person was active on the cohort day and satisfies ck
    select
        first_active_days.one_id as one_id,
        first_active_days.cohort_date as cohort_date,
        retention(
            person_active_days.active_date = first_active_days.cohort_date
            {%- for day in retention_days %},
            person_active_days.active_date = first_active_days.cohort_date + {{ day }}
            {%- endfor %}
        ) as retained

    from person_active_days
    inner join first_active_days
        on person_active_days.one_id = first_active_days.one_id
    group by first_active_days.one_id, first_active_days.cohort_date

),

final as (

    select
        cohort_date,
        toUInt64(count()) as cohort_people,
        {%- for day in retention_days %}
        toUInt64(countIf(retained[{{ loop.index + 1 }}] = 1)) as day_{{ day }}_retained_people,
        round(day_{{ day }}_retained_people / cohort_people, 4) as day_{{ day }}_retention_rate,
        toBool(cohort_date + {{ day }} <= toDate('{{ run_date() }}')) as is_day_{{ day }}_observable,
        {%- endfor %}
        toDate('{{ run_date() }}') as observed_through_date

    from retention_per_person
    group by cohort_date

)

select * from final
