{{ config(materialized='view') }}

{#-
    Every change of a person's contact consent up to the end of the run date, from both places a person can
    say it: an unsubscribe reply to a marketing SMS (TD, 退订, ...; always an opt-out of SMS), and the app's
    preference centre (opt-out or opt-in, per channel). The latest change per person and channel decides.
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

sms_replies as (

    select * from {{ ref('stg_consent__sms_replies') }}

),

opt_outs as (

    select * from {{ ref('stg_consent__opt_outs') }}

),

unsubscribe_replies as (

    select
        links.one_id as one_id,
        'sms' as consent_channel,
        true as is_opt_out,
        sms_replies.replied_at as changed_at,
        'sms_reply' as change_origin

    from sms_replies
    inner join (
        select one_id, id_value from identity_links where id_type = 'phone'
    ) as links
        on sms_replies.phone = links.id_value
    where sms_replies.is_unsubscribe

),

preference_changes as (

    select
        links.one_id as one_id,
        opt_outs.consent_channel as consent_channel,
        opt_outs.is_opt_out as is_opt_out,
        opt_outs.changed_at as changed_at,
        'preference_centre' as change_origin

    from opt_outs
    inner join (
        select one_id, id_value from identity_links where id_type = 'app_user_id'
    ) as links
        on opt_outs.app_user_id = links.id_value
    where opt_outs.consent_channel != 'other'

),

unioned as (

    select * from unsubscribe_replies
    union all
    select * from preference_changes

)

select * from unioned
where toDate(changed_at, 'Asia/Shanghai') <= toDate('{{ run_date() }}')
