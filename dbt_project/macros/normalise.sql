{#-
    Row-level normalisation shared by staging models: free text and platform codes -> the house vocabulary.
    Each returns a ClickHouse expression over one column; they never join or aggregate.
-#}

{#- Platform gender codes (0 unknown, 1 male, 2 female; WeChat, Douyin and the app agree) -> male | female | unknown -#}
{% macro gender_code(column) -%}
    multiIf({{ column }} = 1, 'male', {{ column }} = 2, 'female', 'unknown')
{%- endmacro %}

{#- Channel names of the preference centre and complaints -> sms | push | wechat | call | other -#}
{% macro consent_channel(column) -%}
    multiIf(
        lower(trimBoth({{ column }})) in ('sms', 'message', '短信'), 'sms',
        lower(trimBoth({{ column }})) in ('push', 'app_push', 'app'), 'push',
        lower(trimBoth({{ column }})) in ('wechat', 'weixin', 'wecom', '微信'), 'wechat',
        lower(trimBoth({{ column }})) in ('call', 'phone', 'outbound_call', '电话'), 'call',
        'other'
    )
{%- endmacro %}

{#-
    An inbound SMS that asks to stop marketing texts. Carriers and the MIIT rules make "TD" / "T" / "N" / "退订" /
    "取消" the unsubscribe keywords; replies also come as "退订TD" or "回T退订" (copied from the message footer), in
    any case and with spaces or punctuation around. Anything else ("好的", "?", "多少钱") is not an unsubscribe.
-#}
{% macro is_unsubscribe_reply(column) -%}
    toBool(
        upper(replaceRegexpAll({{ column }}, '[\\s\\p{P}]', '')) in ('TD', 'T', 'N', 'TUIDING', 'UNSUBSCRIBE', 'STOP')
        or position({{ column }}, '退订') > 0
        or replaceRegexpAll({{ column }}, '[\\s\\p{P}]', '') = '取消'
    )
{%- endmacro %}

{#- Refund reasons as app users pick them (Chinese text) -> a stable code for the refund_reason tag -#}
{% macro refund_reason_code(column) -%}
    multiIf(
        {{ column }} is null or trimBoth({{ column }}) = '', 'unknown',
        position({{ column }}, '描述不符') > 0, 'not_as_described',
        position({{ column }}, '七天无理由') > 0 or position({{ column }}, '7天无理由') > 0, 'no_reason_7_days',
        position({{ column }}, '质量') > 0, 'quality_issue',
        position({{ column }}, '少件') > 0 or position({{ column }}, '漏发') > 0, 'missing_items',
        position({{ column }}, '不想要') > 0, 'changed_mind',
        'other'
    )
{%- endmacro %}

{#- Order cancel reasons (C2B: we buy the person's item; B2C: we sell) -> a stable code for the cancel tags -#}
{% macro cancel_reason_code(column) -%}
    multiIf(
        {{ column }} is null or trimBoth({{ column }}) = '', 'unknown',
        position({{ column }}, '估价太低') > 0, 'valuation_too_low',
        position({{ column }}, '检测价') > 0, 'inspection_price_mismatch',
        position({{ column }}, '其他平台') > 0, 'sold_elsewhere',
        position({{ column }}, '上门时间') > 0, 'pickup_time_unsuitable',
        position({{ column }}, '不想卖') > 0 or position({{ column }}, '不想买') > 0, 'changed_mind',
        position({{ column }}, '价格') > 0, 'price_unsuitable',
        position({{ column }}, '重复下单') > 0, 'duplicate_order',
        position({{ column }}, '地址') > 0, 'wrong_address',
        position({{ column }}, '支付') > 0, 'payment_problem',
        position({{ column }}, '发货') > 0, 'slow_delivery',
        'other'
    )
{%- endmacro %}
