{{
    config(
        order_by='one_id',
    )
}}

{%- set run_date_sql = "toDate('" ~ run_date() ~ "')" %}

{#-
    Lifecycle on the run date. Active days are the days with a touchpoint event plus the registration day of
    the app account and the day the person first joined another channel (followed the Official Account or
    the Douyin account, became a WeCom contact, first opened the mini program, signed up on Xiaoe). A person
    with none of these is judged on the day identity resolution first saw them: a snapshot
    delivery is not a sign of life when better evidence exists (the first full app snapshot would otherwise
    make every long-registered person "new"). Windows count the run date as day 0: "in the last 30 days" is
    0-29 days ago.
-#}

with

identities as (

    select * from {{ ref('int_identities_pivoted') }}

),

activity as (

    select * from {{ ref('int_activity_summarised') }}

),

attributes as (

    select * from {{ ref('int_person_attributes_merged') }}

),

active_days as (

    select
        identities.one_id as one_id,
        identities.first_seen_date as identity_first_seen_date,
        arrayConcat(
            activity.active_dates,
            if(
                attributes.registered_at is null,
                [],
                [toDate(assumeNotNull(attributes.registered_at), 'Asia/Shanghai')]
            ),
            if(
                attributes.first_channel_joined_at is null,
                [],
                [toDate(assumeNotNull(attributes.first_channel_joined_at), 'Asia/Shanghai')]
            )
        ) as signs_of_life,
        arraySort(arrayDistinct(if(empty(signs_of_life), [identities.first_seen_date], signs_of_life)))
            as active_dates

    from identities
    left join activity
        on identities.one_id = activity.one_id
    left join attributes
        on identities.one_id = attributes.one_id

),

measured as (

    select
        one_id,
        least(identity_first_seen_date, active_dates[1]) as first_seen_date,
        active_dates[-1] as last_active_date,
        dateDiff('day', active_dates[-1], {{ run_date_sql }}) as days_since_last_active,
        dateDiff('day', first_seen_date, {{ run_date_sql }}) as days_since_first_seen,
        -- a return after more than 90 silent days, and that return is in the last 30 days
        arrayExists(
            (day, previous_day) -> dateDiff('day', day, {{ run_date_sql }}) < 30
                and dateDiff('day', previous_day, day) > 90,
            arrayPopFront(active_dates),
            arrayPopBack(active_dates)
        ) as has_recent_return

    from active_days

),

final as (

    select
        one_id,
        first_seen_date,
        last_active_date,
        days_since_last_active,
        multiIf(
            days_since_first_seen < 30, 'new',
            has_recent_return, 'reactivated',
            days_since_last_active < 30, 'active',
            days_since_last_active <= 90, 'silent',
            'churned'
        ) as lifecycle_stage

    from measured

)

select * from final
