{#-
    The tags marts.user_profile carries as columns and marts.user_tags unpivots: code and catalogue type, in the
    order of seeds/tag_catalogue.csv. The seed is the documentation; this list is what the SQL is generated from
    (Jinja cannot read the seed before it is loaded). tests/assert_tag_catalogue_is_produced.sql fails the build
    if the two disagree or a code is not a user_profile column.
-#}
{% macro catalogue_tags() -%}
    {{- return([
        {'code': 'gender', 'type': 'enum'},
        {'code': 'city', 'type': 'string'},
        {'code': 'province', 'type': 'string'},
        {'code': 'device_os', 'type': 'enum'},
        {'code': 'register_channel', 'type': 'enum'},
        {'code': 'account_age_days', 'type': 'integer'},
        {'code': 'lifecycle_stage', 'type': 'enum'},
        {'code': 'first_seen_date', 'type': 'date'},
        {'code': 'last_active_date', 'type': 'date'},
        {'code': 'days_since_last_active', 'type': 'integer'},
        {'code': 'active_days_30d', 'type': 'integer'},
        {'code': 'rfm_frequency', 'type': 'integer'},
        {'code': 'rfm_recency_days', 'type': 'integer'},
        {'code': 'rfm_age_days', 'type': 'integer'},
        {'code': 'rfm_monetary', 'type': 'decimal'},
        {'code': 'days_since_last_purchase', 'type': 'integer'},
        {'code': 'rfm_r_score', 'type': 'integer'},
        {'code': 'rfm_f_score', 'type': 'integer'},
        {'code': 'rfm_m_score', 'type': 'integer'},
        {'code': 'rfm_segment', 'type': 'enum'},
        {'code': 'lifetime_spend', 'type': 'decimal'},
        {'code': 'preferred_category', 'type': 'enum'},
        {'code': 'categories_browsed', 'type': 'list'},
        {'code': 'search_intent', 'type': 'enum'},
        {'code': 'active_hour_band', 'type': 'enum'},
        {'code': 'preferred_touchpoint', 'type': 'enum'},
        {'code': 'app_events_30d', 'type': 'integer'},
        {'code': 'is_sharer', 'type': 'boolean'},
        {'code': 'is_course_buyer', 'type': 'boolean'},
        {'code': 'invited_accounts', 'type': 'integer'},
        {'code': 'c2b_funnel_stage', 'type': 'enum'},
        {'code': 'is_valued_no_order', 'type': 'boolean'},
        {'code': 'c2b_cancel_reason', 'type': 'enum'},
        {'code': 'b2c_cancel_reason', 'type': 'enum'},
        {'code': 'refund_reason', 'type': 'enum'},
        {'code': 'refunded_orders', 'type': 'integer'},
        {'code': 'coupon_sensitivity', 'type': 'enum'},
        {'code': 'coupons_granted', 'type': 'integer'},
        {'code': 'coupons_redeemed', 'type': 'integer'},
        {'code': 'has_active_coupon', 'type': 'boolean'},
        {'code': 'last_benefit_type', 'type': 'enum'},
        {'code': 'can_receive_sms', 'type': 'boolean'},
        {'code': 'can_receive_app_push', 'type': 'boolean'},
        {'code': 'can_receive_wechat_oa_template', 'type': 'boolean'},
        {'code': 'can_receive_wecom', 'type': 'boolean'},
        {'code': 'can_receive_outbound_call', 'type': 'boolean'},
        {'code': 'is_sms_unsubscribed', 'type': 'boolean'},
        {'code': 'has_complaint', 'type': 'boolean'},
        {'code': 'is_oa_follower', 'type': 'boolean'},
        {'code': 'opted_out_channels', 'type': 'list'},
        {'code': 'nps_score', 'type': 'integer'},
        {'code': 'nps_group', 'type': 'enum'},
        {'code': 'satisfaction_score', 'type': 'integer'},
        {'code': 'is_blacklisted', 'type': 'boolean'},
        {'code': 'blacklist_risk_level', 'type': 'enum'},
        {'code': 'is_internal_test_account', 'type': 'boolean'}
    ]) -}}
{%- endmacro %}

{#-
    The String tag_value of one profile column, by catalogue type; null when the person has no value for it (the
    tag row is then left out of marts.user_tags). Booleans are 'true'/'false', lists comma-separated and sorted.
-#}
{% macro tag_value_expression(code, type) -%}
    {%- if type == 'boolean' -%}
        toNullable(if({{ code }} = 1, 'true', 'false'))
    {%- elif type == 'list' -%}
        nullIf(arrayStringConcat(arraySort({{ code }}), ','), '')
    {%- elif type == 'decimal' -%}
        toNullable(toString(round({{ code }}, 6)))
    {%- else -%}
        toNullable(toString({{ code }}))
    {%- endif -%}
{%- endmacro %}
