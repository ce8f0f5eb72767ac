{{
    config(
        order_by='one_id',
    )
}}

{#-
    One row per person with any consent change or complaint: per channel, whether the LATEST change is an
    opt-out (so an opt-in after an opt-out re-enables the channel; on a tie in time, the opt-out wins).
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

consent_changes as (

    select * from {{ ref('int_consent_changes_unioned') }}

),

complaints as (

    select * from {{ ref('stg_consent__complaints') }}

),

latest_per_channel as (

    select
        one_id,
        consent_channel,
        argMax(is_opt_out, (changed_at, is_opt_out)) as is_opted_out

    from consent_changes
    group by one_id, consent_channel

),

per_person_consent as materialized (

    select
        one_id,
        maxIf(is_opted_out, consent_channel = 'sms') as is_sms_opted_out,
        maxIf(is_opted_out, consent_channel = 'push') as is_push_opted_out,
        maxIf(is_opted_out, consent_channel = 'wechat') as is_wechat_opted_out,
        maxIf(is_opted_out, consent_channel = 'call') as is_call_opted_out,
        arraySort(groupArrayIf(consent_channel, is_opted_out)) as opted_out_channels

    from latest_per_channel
    group by one_id

),

complainers as materialized (

    select distinct
        links.one_id as one_id,
        toUInt8(1) as has_complaint

    from complaints
    inner join (
        select one_id, id_value from identity_links where id_type = 'phone'
    ) as links
        on complaints.phone = links.id_value
    where toDate(complaints.complained_at, 'Asia/Shanghai') <= toDate('{{ run_date() }}')

),

people as (

    select one_id from per_person_consent
    union distinct
    select one_id from complainers

),

final as (

    select
        people.one_id as one_id,
        toUInt8(per_person_consent.is_sms_opted_out) as is_sms_opted_out,
        toUInt8(per_person_consent.is_push_opted_out) as is_push_opted_out,
        toUInt8(per_person_consent.is_wechat_opted_out) as is_wechat_opted_out,
        toUInt8(per_person_consent.is_call_opted_out) as is_call_opted_out,
        per_person_consent.opted_out_channels as opted_out_channels,
        complainers.has_complaint as has_complaint

    from people
    left join per_person_consent on people.one_id = per_person_consent.one_id
    left join complainers on people.one_id = complainers.one_id

)

select * from final
