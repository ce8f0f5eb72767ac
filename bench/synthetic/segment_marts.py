"""Synthetic marts (user_profile, user_tags, tag_bitmaps) for tests and benchmarks, generated in ClickHouse.

The shapes are those of the dbt models (`dbt_project/models/marts/users/user_profile.sql`, `user_tags.sql`,
`marts/tags/tag_bitmaps.sql`): a subset of the real profile columns with their real ClickHouse types and value
vocabularies (`seeds/tag_catalogue.csv`), and the same rules linking them (an address and no opt-out make a channel
reachable; non-buyers have rfm_segment 'non_buyer' and NULL RFM figures; boolean tags are 'true'/'false' in the
long table; only enum, boolean and bounded integer tags get bitmaps). Values are a deterministic hash of
(one_id, seed) and deliberately include the awkward cases: NULL tags, empty strings, empty arrays, non-ASCII and
mixed-case cities, an unknown time zone.
"""

from __future__ import annotations

from datetime import date

PROFILE_DATE = date(2026, 11, 20)
_DAY = f"toDate('{PROFILE_DATE.isoformat()}')"


def _hash(salt: int, modulo: int) -> str:
    return f"cityHash64(number, {salt}, {{seed}}) % {modulo}"


def _pick(values: list[str], salt: int, null_share_pct: int = 0) -> str:
    """A ClickHouse expression choosing one of `values` by hash, NULL for `null_share_pct` percent of rows."""
    quoted = ", ".join(f"'{v}'" for v in values)
    choice = f"[{quoted}][1 + {_hash(salt, len(values))}]"
    if not null_share_pct:
        return choice
    return f"if({_hash(salt + 100, 100)} < {null_share_pct}, NULL, {choice})"


def _id(prefix: str, salt: int, present_pct: int) -> str:
    return f"if({_hash(salt, 100)} < {present_pct}, concat('{prefix}', toString({_hash(salt + 1, 1000000000)})), '')"


def _flag(salt: int, pct: int) -> str:
    return f"toUInt8({_hash(salt, 100)} < {pct})"


def _if_buyer(expression: str) -> str:
    return f"if({_hash(40, 100)} < 35, {expression}, NULL)"


CATEGORIES = ["phone", "tablet", "laptop", "watch", "audio", "accessory"]
# A subset of marts.user_profile: column -> (ClickHouse type as in the dbt model, value expression). Later columns
# refer to earlier ones by alias (ClickHouse resolves aliases within one SELECT).
PROFILE: dict[str, tuple[str, str]] = {
    "one_id": ("UInt64", "number + 1"),
    "profile_date": ("Date", _DAY),
    # identities: empty string when absent
    "phone": (
        "String",
        f"if({_hash(1, 100)} < 60, concat('+86138', leftPad(toString({_hash(2, 100000000)}), 8, '0')), '')",
    ),
    "unionid": ("String", _id("u", 3, 55)),
    "wechat_oa_openid": ("String", _id("o", 5, 45)),
    "miniprogram_openid": ("String", _id("m", 7, 30)),
    "app_user_id": ("String", _id("a", 9, 50)),
    "wecom_external_userid": ("String", _id("w", 11, 20)),
    "douyin_open_id": ("String", _id("d", 13, 35)),
    "xiaoe_user_id": ("String", _id("x", 15, 10)),
    "cdnow_customer_id": (
        "String",
        f"if({_hash(16, 100)} < 10, leftPad(toString(1 + {_hash(17, 23570)}), 5, '0'), '')",
    ),
    # consent and suppression inputs
    "is_sms_unsubscribed": ("UInt8", _flag(25, 8)),
    "has_complaint": ("UInt8", _flag(26, 3)),
    "is_blacklisted": ("UInt8", _flag(27, 2)),
    "is_internal_test_account": ("UInt8", _flag(28, 1)),
    # reachability = an address and no opt-out (push opt-out 15%, WeChat 5%, calls 20%)
    "can_receive_sms": ("UInt8", "toUInt8(phone != '' AND is_sms_unsubscribed = 0)"),
    "can_receive_app_push": ("UInt8", f"toUInt8(app_user_id != '' AND {_hash(21, 100)} >= 15)"),
    "can_receive_wechat_oa_template": ("UInt8", f"toUInt8(wechat_oa_openid != '' AND {_hash(22, 100)} >= 5)"),
    "can_receive_wecom": ("UInt8", f"toUInt8(wecom_external_userid != '' AND {_hash(22, 100)} >= 5)"),
    "can_receive_outbound_call": ("UInt8", f"toUInt8(phone != '' AND {_hash(24, 100)} >= 20)"),
    "contact_ref_sms": ("String", "if(can_receive_sms = 1, phone, '')"),
    "contact_ref_app_push": ("String", "if(can_receive_app_push = 1, app_user_id, '')"),
    "contact_ref_wechat_oa_template": ("String", "if(can_receive_wechat_oa_template = 1, wechat_oa_openid, '')"),
    "contact_ref_wecom": ("String", "if(can_receive_wecom = 1, wecom_external_userid, '')"),
    "contact_ref_outbound_call": ("String", "if(can_receive_outbound_call = 1, phone, '')"),
    "wecom_owner_userid": ("String", f"if(can_receive_wecom = 1, concat('staff_', toString({_hash(23, 7)})), '')"),
    "timezone": ("String", _pick(["Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi", ""], 29)),
    "has_phone": ("Bool", "toBool(phone != '')"),
    "os": ("Nullable(String)", _pick(["ios", "android", "android", "harmonyos"], 30, 40)),
    "registered_at": (
        "Nullable(DateTime64(3))",
        f"if(os IS NULL, NULL, toDateTime64(first_seen_date, 3) + toIntervalSecond({_hash(31, 86400)}))",
    ),
    # demographics
    "gender": ("String", _pick(["male", "female", "unknown"], 34)),
    "city": ("Nullable(String)", _pick(["北京", "上海", "深圳", "Shanghai", "shanghai", "Hangzhou"], 33, 20)),
    "device_os": ("String", "coalesce(os, 'unknown')"),
    "register_channel": ("String", _pick(["appstore", "huawei", "xiaomi", "invite", "organic", "unknown"], 35)),
    "account_age_days": ("Int64", "toInt64(dateDiff('day', first_seen_date, profile_date))"),
    # lifecycle
    "lifecycle_stage": (
        "String",
        "multiIf(days_since_last_active < 30, "
        + _pick(["new", "active", "reactivated"], 36)
        + ", days_since_last_active <= 90, 'silent', 'churned')",
    ),
    "first_seen_date": ("Date", f"last_active_date - toIntervalDay({_hash(37, 400)})"),
    "last_active_date": ("Date", f"{_DAY} - toIntervalDay(days_since_last_active)"),
    "days_since_last_active": ("Int64", f"toInt64({_hash(38, 700)})"),
    "active_days_30d": ("Int64", f"toInt64(if(days_since_last_active < 30, {_hash(39, 31)}, 0))"),
    # rfm: NULL for the ~65% who never bought
    "rfm_frequency": ("Nullable(Int64)", _if_buyer(f"toInt64({_hash(41, 12)})")),
    "rfm_monetary": ("Nullable(Float64)", _if_buyer(f"if(rfm_frequency = 0, 0., {_hash(42, 100000)} / 100.)")),
    "days_since_last_purchase": ("Nullable(Int64)", _if_buyer(f"toInt64({_hash(43, 500)})")),
    "rfm_r_score": (
        "Nullable(Int64)",
        "multiIf(days_since_last_purchase IS NULL, NULL, days_since_last_purchase <= 30, 5, "
        "days_since_last_purchase <= 90, 4, days_since_last_purchase <= 180, 3, days_since_last_purchase <= 365, 2, 1)",
    ),
    "rfm_f_score": (
        "Nullable(Int64)",
        "multiIf(rfm_frequency IS NULL, NULL, rfm_frequency = 0, 1, rfm_frequency = 1, 2, rfm_frequency <= 3, 3, "
        "rfm_frequency <= 8, 4, 5)",
    ),
    "rfm_m_score": ("Nullable(Int64)", _if_buyer(f"toInt64(1 + {_hash(44, 5)})")),
    "rfm_segment": (
        "String",
        "multiIf(rfm_r_score IS NULL, 'non_buyer', rfm_r_score >= 4 AND rfm_f_score >= 4, 'champion', "
        "rfm_f_score >= 4, 'loyal', rfm_r_score = 5 AND rfm_f_score = 1, 'new_buyer', rfm_r_score >= 4, "
        "'potential_loyalist', rfm_r_score = 3, 'needs_attention', rfm_f_score >= 2, 'at_risk', 'hibernating')",
    ),
    "lifetime_spend": ("Nullable(Float64)", _if_buyer(f"rfm_monetary * rfm_frequency + {_hash(45, 50000)} / 100.")),
    # behaviour, C2B funnel, benefits
    "preferred_category": ("String", _pick([*CATEGORIES, "none", "none"], 46)),
    "categories_browsed": (
        "Array(String)",
        f"arrayFilter(c -> cityHash64(number, c, {{seed}}) % 3 = 0, {CATEGORIES!r})",
    ),
    "search_intent": ("String", _pick(["sell", "buy", "mixed", "none", "none", "none"], 47)),
    "is_sharer": ("UInt8", _flag(48, 10)),
    "c2b_funnel_stage": ("String", _pick(["none", "none", "valued", "ordered", "completed"], 49)),
    "coupon_sensitivity": ("String", f"if(rfm_r_score IS NULL, 'none', {_pick(['high', 'medium', 'low'], 50)})"),
    "has_active_coupon": ("UInt8", _flag(51, 15)),
    "is_oa_follower": ("UInt8", "toUInt8(wechat_oa_openid != '')"),
    "opted_out_channels": (
        "Array(String)",
        f"arraySort(arrayConcat(if(is_sms_unsubscribed = 1, ['sms'], []), if({_hash(21, 100)} < 15, ['push'], [])))",
    ),
    # satisfaction and risk
    "nps_score": ("Nullable(Int64)", f"if({_hash(52, 100)} < 30, toInt64({_hash(53, 11)}), NULL)"),
    "nps_group": (
        "String",
        "multiIf(nps_score IS NULL, 'none', nps_score >= 9, 'promoter', nps_score >= 7, 'passive', 'detractor')",
    ),
    "blacklist_risk_level": ("String", f"if(is_blacklisted = 1, {_pick(['high', 'medium'], 54)}, 'none')"),
}
# Catalogue type of each profile column that is a tag (seeds/tag_catalogue.csv), in the catalogue's order.
TAG_TYPES: dict[str, str] = {
    "gender": "enum",
    "city": "string",
    "device_os": "enum",
    "register_channel": "enum",
    "account_age_days": "integer",
    "lifecycle_stage": "enum",
    "first_seen_date": "date",
    "last_active_date": "date",
    "days_since_last_active": "integer",
    "active_days_30d": "integer",
    "rfm_frequency": "integer",
    "rfm_monetary": "decimal",
    "days_since_last_purchase": "integer",
    "rfm_r_score": "integer",
    "rfm_f_score": "integer",
    "rfm_m_score": "integer",
    "rfm_segment": "enum",
    "lifetime_spend": "decimal",
    "preferred_category": "enum",
    "categories_browsed": "list",
    "search_intent": "enum",
    "is_sharer": "boolean",
    "c2b_funnel_stage": "enum",
    "coupon_sensitivity": "enum",
    "has_active_coupon": "boolean",
    "can_receive_sms": "boolean",
    "can_receive_app_push": "boolean",
    "can_receive_wechat_oa_template": "boolean",
    "can_receive_wecom": "boolean",
    "can_receive_outbound_call": "boolean",
    "is_sms_unsubscribed": "boolean",
    "has_complaint": "boolean",
    "is_oa_follower": "boolean",
    "opted_out_channels": "list",
    "nps_score": "integer",
    "nps_group": "enum",
    "is_blacklisted": "boolean",
    "blacklist_risk_level": "enum",
    "is_internal_test_account": "boolean",
}
# Integer tags with a closed range of a few values get bitmaps too (as in tag_bitmaps.sql).
BOUNDED_INTEGER_TAGS = ("active_days_30d", "rfm_r_score", "rfm_f_score", "rfm_m_score", "nps_score")
BITMAP_TAGS = tuple(
    code for code, kind in TAG_TYPES.items() if kind in ("enum", "boolean") or code in BOUNDED_INTEGER_TAGS
)


def _tag_value(code: str, kind: str) -> str:
    """The String tag value of a profile column, as dbt's `tag_value_expression` macro renders it."""
    if kind == "boolean":
        return f"toNullable(if(`{code}` = 1, 'true', 'false'))"
    if kind == "list":
        return f"nullIf(arrayStringConcat(arraySort(`{code}`), ','), '')"
    if kind == "decimal":
        return f"toNullable(toString(round(`{code}`, 6)))"
    return f"toNullable(toString(`{code}`))"


def profile_columns() -> dict[str, str]:
    """Column -> ClickHouse type of the synthetic marts.user_profile."""
    return {name: column_type for name, (column_type, _) in PROFILE.items()}


def create_synthetic_marts(client, database: str, people: int, seed: int = 7) -> None:
    """(Re)create `database`.user_profile, user_tags and tag_bitmaps with `people` synthetic people."""
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for table in ("user_profile", "user_tags", "tag_bitmaps"):
        client.command(f"DROP TABLE IF EXISTS `{database}`.{table}")
    ddl = ",\n".join(f"`{name}` {column_type}" for name, (column_type, _) in PROFILE.items())
    client.command(f"CREATE TABLE `{database}`.user_profile ({ddl}) ENGINE = MergeTree ORDER BY one_id")
    select = ", ".join(f"{value.format(seed=int(seed))} AS `{name}`" for name, (_, value) in PROFILE.items())
    client.command(f"INSERT INTO `{database}`.user_profile SELECT {select} FROM numbers({int(people)})")

    client.command(
        f"CREATE TABLE `{database}`.user_tags (one_id UInt64, tag_code LowCardinality(String), tag_value String, "
        "computed_date Date) ENGINE = MergeTree ORDER BY (tag_code, one_id)"
    )
    pairs = ", ".join(f"('{code}', {_tag_value(code, kind)})" for code, kind in TAG_TYPES.items())
    client.command(
        f"INSERT INTO `{database}`.user_tags SELECT one_id, tag.1, assumeNotNull(tag.2), profile_date "
        f"FROM `{database}`.user_profile ARRAY JOIN [{pairs}] AS tag WHERE tag.2 IS NOT NULL"
    )
    client.command(
        f"CREATE TABLE `{database}`.tag_bitmaps (tag_code LowCardinality(String), tag_value String, people UInt64, "
        "bitmap AggregateFunction(groupBitmap, UInt32)) ENGINE = MergeTree ORDER BY (tag_code, tag_value) "
        "SETTINGS index_granularity = 1"
    )
    codes = ", ".join(f"'{code}'" for code in BITMAP_TAGS)
    client.command(
        f"INSERT INTO `{database}`.tag_bitmaps SELECT tag_code, tag_value, count(), groupBitmapState(toUInt32(one_id)) "
        f"FROM `{database}`.user_tags WHERE tag_code IN ({codes}) GROUP BY tag_code, tag_value"
    )
