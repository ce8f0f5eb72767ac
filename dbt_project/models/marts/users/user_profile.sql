{{
    config(
        order_by='one_id',
    )
}}

{%- set run_date_sql = "toDate('" ~ run_date() ~ "')" %}

{#-
    The wide profile: one row per person (one_id) known to identity resolution on the run date, with their
    preferred identifiers, a contact address and consent per channel, suppression flags, and one column per
    catalogue tag (seeds/tag_catalogue.csv). Spark segments and campaign audiences read this table; the
    columns of nightshift/contracts.py USER_PROFILE_COLUMNS are guaranteed (tests/test_profile_contract.py).
    Every per-person input is pre-aggregated to one row per one_id, so this model is a chain of key joins.
-#}

with

identities as (

    select * from {{ ref('int_identities_pivoted') }}

),

attributes as (

    select * from {{ ref('int_person_attributes_merged') }}

),

app_users as (

    select * from {{ ref('int_app_users_resolved_to_one_ids') }}

),

lifecycle as (

    select * from {{ ref('int_lifecycle_stages_assigned') }}

),

activity as (

    select * from {{ ref('int_activity_summarised') }}

),

rfm as (

    select * from {{ ref('int_rfm_computed') }}

),

order_histories as (

    select * from {{ ref('int_order_histories_summarised') }}

),

benefits as (

    select * from {{ ref('int_benefits_summarised') }}

),

consents as (

    select * from {{ ref('int_channel_consents_pivoted') }}

),

addresses as (

    select * from {{ ref('int_contact_addresses_resolved') }}

),

risk_flags as (

    select * from {{ ref('int_risk_flags_pivoted') }}

),

clicks as (

    -- the person's latest click on any campaign's short link, up to the run date; Nullable, so a person who
    -- never clicked reads null through the left join (not 1970)
    select one_id, toNullable(max(clicked_at)) as last_clicked_at
    from {{ ref('int_clicks_resolved') }}
    group by one_id

),

preferred_app_accounts as (

    -- the app account the profile names (identity's preferred one) supplies the legacy os / registered_at
    select
        app_users.one_id as one_id,
        app_users.os as os,
        app_users.registered_at as registered_at,
        true as is_matched

    from app_users
    inner join identities
        on app_users.one_id = identities.one_id
        and app_users.app_user_id = identities.app_user_id

),

joined as (

    -- ClickHouse fills a missing right side with type defaults (0, '', empty array), not nulls: the
    -- expressions below turn those into the documented "none" / absent values
    select
        identities.one_id as one_id,
        {{ run_date_sql }} as profile_date,

        -- identities
        identities.phone as phone,
        identities.unionid as unionid,
        identities.wechat_oa_openid as wechat_oa_openid,
        identities.miniprogram_openid as miniprogram_openid,
        identities.app_user_id as app_user_id,
        identities.wecom_external_userid as wecom_external_userid,
        identities.douyin_open_id as douyin_open_id,
        identities.xiaoe_user_id as xiaoe_user_id,
        identities.cdnow_customer_id as cdnow_customer_id,
        if(preferred_app_accounts.is_matched, preferred_app_accounts.os, null) as os,
        if(preferred_app_accounts.is_matched, preferred_app_accounts.registered_at, null) as registered_at,

        -- demographics
        coalesce(nullIf(attributes.gender, ''), 'unknown') as gender,
        attributes.city as city,
        attributes.province as province,
        coalesce(nullIf(attributes.device_os, ''), 'unknown') as device_os,
        coalesce(nullIf(attributes.register_channel, ''), 'unknown') as register_channel,
        toInt64(dateDiff(
            'day',
            least(
                coalesce(toDate(attributes.registered_at, 'Asia/Shanghai'), lifecycle.first_seen_date),
                lifecycle.first_seen_date
            ),
            {{ run_date_sql }}
        )) as account_age_days,

        -- lifecycle
        lifecycle.lifecycle_stage as lifecycle_stage,
        lifecycle.first_seen_date as first_seen_date,
        lifecycle.last_active_date as last_active_date,
        toInt64(lifecycle.days_since_last_active) as days_since_last_active,
        toInt64(activity.active_days_30d) as active_days_30d,

        -- rfm (absent for people who never purchased)
        rfm.purchase_days > 0 as has_purchases,
        if(has_purchases, rfm.rfm_frequency, null) as rfm_frequency,
        if(has_purchases, rfm.rfm_recency_days, null) as rfm_recency_days,
        if(has_purchases, rfm.rfm_age_days, null) as rfm_age_days,
        if(has_purchases, rfm.rfm_monetary, null) as rfm_monetary,
        if(has_purchases, rfm.days_since_last_purchase, null) as days_since_last_purchase,
        if(has_purchases, rfm.rfm_r_score, null) as rfm_r_score,
        if(has_purchases, rfm.rfm_f_score, null) as rfm_f_score,
        if(has_purchases, rfm.rfm_m_score, null) as rfm_m_score,
        if(has_purchases, rfm.rfm_segment, 'non_buyer') as rfm_segment,
        if(has_purchases, rfm.lifetime_spend, null) as lifetime_spend,

        -- behaviour and preference
        coalesce(nullIf(activity.preferred_category, ''), 'none') as preferred_category,
        activity.categories_browsed as categories_browsed,
        coalesce(nullIf(activity.search_intent, ''), 'none') as search_intent,
        coalesce(nullIf(activity.active_hour_band, ''), 'none') as active_hour_band,
        coalesce(nullIf(activity.preferred_touchpoint, ''), 'none') as preferred_touchpoint,
        toInt64(activity.app_events_30d) as app_events_30d,
        toUInt8(activity.is_sharer) as is_sharer,
        toUInt8(order_histories.is_course_buyer) as is_course_buyer,
        toInt64(attributes.invited_accounts) as invited_accounts,

        -- C2B funnel, cancels and refunds
        coalesce(nullIf(order_histories.c2b_funnel_stage, ''), 'none') as c2b_funnel_stage,
        toUInt8(ifNull(order_histories.is_valued_no_order, 0)) as is_valued_no_order,
        coalesce(nullIf(order_histories.c2b_cancel_reason, ''), 'none')
            as c2b_cancel_reason,
        coalesce(nullIf(order_histories.b2c_cancel_reason, ''), 'none')
            as b2c_cancel_reason,
        coalesce(nullIf(order_histories.refund_reason, ''), 'none') as refund_reason,
        toInt64(order_histories.refunded_orders) as refunded_orders,

        -- benefits
        coalesce(nullIf(benefits.coupon_sensitivity, ''), 'none') as coupon_sensitivity,
        toInt64(benefits.coupons_granted) as coupons_granted,
        toInt64(benefits.coupons_redeemed) as coupons_redeemed,
        toUInt8(benefits.has_active_coupon) as has_active_coupon,
        coalesce(nullIf(benefits.last_benefit_type, ''), 'none') as last_benefit_type,

        -- consent and addresses
        toUInt8(consents.is_sms_opted_out) as is_sms_unsubscribed,
        toUInt8(consents.is_push_opted_out) as is_push_opted_out,
        toUInt8(consents.is_wechat_opted_out) as is_wechat_opted_out,
        toUInt8(consents.is_call_opted_out) as is_call_opted_out,
        consents.opted_out_channels as opted_out_channels,
        toUInt8(consents.has_complaint) as has_complaint,
        addresses.oa_template_openid as oa_template_openid,
        addresses.wecom_external_userid as wecom_contact_userid,
        addresses.wecom_owner_userid as wecom_contact_owner_userid,

        -- satisfaction
        activity.nps_score as nps_score,
        activity.satisfaction_score as satisfaction_score,

        -- risk
        toUInt8(risk_flags.is_blacklisted) as is_blacklisted,
        coalesce(nullIf(risk_flags.blacklist_risk_level, ''), 'none') as blacklist_risk_level,
        toUInt8(risk_flags.is_internal_test_account) as is_internal_test_account,

        -- short links
        clicks.last_clicked_at as last_clicked_at

    from identities
    left join attributes on identities.one_id = attributes.one_id
    left join preferred_app_accounts on identities.one_id = preferred_app_accounts.one_id
    left join lifecycle on identities.one_id = lifecycle.one_id
    left join activity on identities.one_id = activity.one_id
    left join rfm on identities.one_id = rfm.one_id
    left join order_histories on identities.one_id = order_histories.one_id
    left join benefits on identities.one_id = benefits.one_id
    left join consents on identities.one_id = consents.one_id
    left join addresses on identities.one_id = addresses.one_id
    left join risk_flags on identities.one_id = risk_flags.one_id
    left join clicks on identities.one_id = clicks.one_id

),

reachability as (

    -- can_receive = an address exists AND the latest consent for the channel is not an opt-out
    select
        *,
        toUInt8(not empty(phone) and is_sms_unsubscribed = 0) as can_receive_sms,
        toUInt8(not empty(app_user_id) and is_push_opted_out = 0) as can_receive_app_push,
        toUInt8(not empty(oa_template_openid) and is_wechat_opted_out = 0) as can_receive_wechat_oa_template,
        toUInt8(not empty(wecom_contact_userid) and is_wechat_opted_out = 0) as can_receive_wecom,
        toUInt8(not empty(phone) and is_call_opted_out = 0) as can_receive_outbound_call,
        toUInt8(not empty(oa_template_openid)) as is_oa_follower

    from joined

),

final as (

    select
        one_id,
        profile_date,
        phone,
        unionid,
        wechat_oa_openid,
        miniprogram_openid,
        app_user_id,
        wecom_external_userid,
        douyin_open_id,
        xiaoe_user_id,
        cdnow_customer_id,
        if(can_receive_sms = 1, phone, '') as contact_ref_sms,
        if(can_receive_app_push = 1, app_user_id, '') as contact_ref_app_push,
        if(can_receive_wechat_oa_template = 1, oa_template_openid, '') as contact_ref_wechat_oa_template,
        if(can_receive_wecom = 1, wecom_contact_userid, '') as contact_ref_wecom,
        if(can_receive_wecom = 1, wecom_contact_owner_userid, '') as wecom_owner_userid,
        if(can_receive_outbound_call = 1, phone, '') as contact_ref_outbound_call,
        can_receive_sms,
        can_receive_app_push,
        can_receive_wechat_oa_template,
        can_receive_wecom,
        can_receive_outbound_call,
        is_sms_unsubscribed,
        has_complaint,
        is_blacklisted,
        is_internal_test_account,
        'Asia/Shanghai' as timezone,
        toBool(not empty(phone)) as has_phone,
        os,
        registered_at,
        last_clicked_at,
        {%- for tag in catalogue_tags() if tag.code not in (
            'can_receive_sms', 'can_receive_app_push', 'can_receive_wechat_oa_template', 'can_receive_wecom',
            'can_receive_outbound_call', 'is_sms_unsubscribed', 'has_complaint', 'is_blacklisted',
            'is_internal_test_account') %}
        {%- if tag.code == 'nps_group' %}
        multiIf(
            nps_score is null, 'none', nps_score >= 9, 'promoter', nps_score >= 7, 'passive', 'detractor'
        ) as nps_group{{ "," if not loop.last }}
        {%- else %}
        {{ tag.code }}{{ "," if not loop.last }}
        {%- endif %}
        {%- endfor %}

    from reachability

)

select * from final
