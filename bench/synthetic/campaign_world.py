"""Synthetic profiles, memberships and plans for the audience tests and the benchmark.

Profiles use the real `marts.user_profile` column names, value vocabularies and the types Spark reads from the
lake (ClickHouse UInt8 flags arrive as smallint, ids as bigint): each channel's contact ref is the person's real
address for it (phone for SMS and calls, app_user_id for push, the OA openid, the WeCom external user id) and is
empty when the person cannot receive it, as dbt builds it. Small cases are built row by row (`profile_row`,
`plan`); large ones (`synthetic_world`) are generated inside Spark from `spark.range`, with every attribute a
deterministic hash of the id, so no data crosses from Python.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nightshift.campaigns.models import CampaignPlan, Policy
from nightshift.contracts import CHANNELS

# The address column that backs each channel's contact ref in user_profile.sql.
ADDRESS_COLUMNS: dict[str, str] = {
    "sms": "phone",
    "outbound_call": "phone",
    "app_push": "app_user_id",
    "wechat_oa_template": "wechat_oa_openid",
    "wecom": "wecom_external_userid",
}
FLAGS = ("is_sms_unsubscribed", "has_complaint", "is_blacklisted", "is_internal_test_account")
# Profile columns (Spark types as read from the lake's Parquet) the audience steps and the shipped plans read.
PROFILE_TYPES: dict[str, str] = {
    "one_id": "bigint",
    "phone": "string",
    "app_user_id": "string",
    "wechat_oa_openid": "string",
    "wecom_external_userid": "string",
    **{f"contact_ref_{channel}": "string" for channel in CHANNELS},
    **{f"can_receive_{channel}": "smallint" for channel in CHANNELS},
    **{flag: "smallint" for flag in FLAGS},
    "timezone": "string",
    "device_os": "string",
    "lifecycle_stage": "string",
    "rfm_segment": "string",
    "preferred_category": "string",
}
PROFILE_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in PROFILE_TYPES.items())
# ClickHouse types of the same columns, as in the dbt model (for tests that also load them into the warehouse).
CLICKHOUSE_TYPES: dict[str, str] = {
    name: {"bigint": "UInt64", "smallint": "UInt8", "string": "String"}[kind] for name, kind in PROFILE_TYPES.items()
}
DEFAULT_POLICY = Policy.model_validate(
    {
        "frequency_caps": {"sms": {"max_contacts": 2, "days": 7}},
        "quiet_hours": {"start": "21:00", "end": "09:00"},
        "suppression": {
            "person": [
                {"reason": "complaint", "column": "has_complaint"},
                {"reason": "blacklisted", "column": "is_blacklisted"},
            ],
            "channel": {"sms": ["is_sms_unsubscribed"]},
        },
    }
)


def address(channel: str, one_id: int) -> str:
    """The synthetic person's address on `channel` (what their contact ref holds when reachable)."""
    return {
        "phone": f"+86138{one_id:08d}",
        "app_user_id": f"app-{one_id}",
        "wechat_oa_openid": f"oa-{one_id}",
        "wecom_external_userid": f"wm-{one_id}",
    }[ADDRESS_COLUMNS[channel]]


def profile_row(
    one_id: int,
    reachable: tuple[str, ...] = CHANNELS,
    timezone: str = "Asia/Shanghai",
    rfm_segment: str = "non_buyer",
    **flags: int,
) -> dict[str, Any]:
    """A profile row with every address, reachable (`can_receive_*` = 1, contact ref set) on `reachable` only;
    `flags` set suppression inputs. Flags and reachability are independent here (dbt would also clear
    can_receive_sms for an SMS unsubscribe), so tests can prove the policy's own channel rules."""
    row: dict[str, Any] = {
        "one_id": one_id,
        "timezone": timezone,
        "device_os": ("ios", "android", "harmonyos", "unknown")[one_id % 4],
        "lifecycle_stage": ("new", "active", "silent", "churned", "reactivated")[one_id % 5],
        "rfm_segment": rfm_segment,
        "preferred_category": ("phone", "tablet", "none")[one_id % 3],
    }
    for channel, column in ADDRESS_COLUMNS.items():
        row[column] = address(channel, one_id)
    for flag in FLAGS:
        row[flag] = flags.get(flag, 0)
    for channel in CHANNELS:
        can_receive = channel in reachable
        row[f"can_receive_{channel}"] = int(can_receive)
        row[f"contact_ref_{channel}"] = address(channel, one_id) if can_receive else ""
    return row


def profile_frame(spark, rows: list[dict]):
    return spark.createDataFrame([tuple(row[column] for column in PROFILE_TYPES) for row in rows], PROFILE_SCHEMA)


def plan(**overrides: Any) -> CampaignPlan:
    """A valid plan (`id` c1, segment `s1`, SMS then app push, 10% holdout, two variants) with overrides."""
    data: dict[str, Any] = {
        "id": "c1",
        "name": "synthetic campaign",
        "include_segments": ["s1"],
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 12, 31),
        "channels": ["sms", "app_push"],
        "template": {"id": "t1", "params": {"phone": "phone"}, "sign_name": "夜班商城"},
        "priority": 10,
        "experiment": {
            "salt": "salt-1",
            "holdout_share": 0.1,
            "variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}],
        },
        "send_window": {"start": "10:00", "end": "20:00"},
    }
    data.update(overrides)
    return CampaignPlan.model_validate(data)


def synthetic_world(spark, people: int, segments: int = 20, campaigns: int = 10):
    """(profile, membership, plans) for `people` ids: each person in ~3 of `segments` segments, an address on
    ~70% of channels (reachable unless opted out), ~2% of each suppression flag; campaigns include 2 segments and
    exclude 1."""
    from pyspark.sql import functions as F

    def share(salt: str, fraction: float):
        draw = F.pmod(F.xxhash64(F.col("one_id"), F.lit(salt)), F.lit(10_000))
        return (draw < int(fraction * 10_000)).cast("smallint")

    def pick(salt: str, values: tuple[str, ...]):
        index = F.pmod(F.xxhash64(F.col("one_id"), F.lit(salt)), F.lit(len(values))) + 1
        return F.element_at(F.array(*[F.lit(value) for value in values]), index.cast("int"))

    ids = spark.range(1, people + 1).withColumnRenamed("id", "one_id")
    flags = [share(flag, 0.02).alias(flag) for flag in FLAGS]
    profile = ids.select(
        "one_id",
        F.concat(F.lit("+86138"), F.lpad(F.col("one_id").cast("string"), 8, "0")).alias("phone"),
        F.concat(F.lit("app-"), F.col("one_id").cast("string")).alias("app_user_id"),
        F.concat(F.lit("oa-"), F.col("one_id").cast("string")).alias("wechat_oa_openid"),
        F.concat(F.lit("wm-"), F.col("one_id").cast("string")).alias("wecom_external_userid"),
        *flags,
        *[share(channel, 0.7).alias(f"has_address_{channel}") for channel in CHANNELS],
        pick("timezone", ("Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi", "")).alias("timezone"),
        pick("device_os", ("ios", "android", "harmonyos", "unknown")).alias("device_os"),
        pick("lifecycle", ("new", "active", "silent", "churned", "reactivated")).alias("lifecycle_stage"),
        pick("rfm", ("champion", "loyal", "at_risk", "non_buyer", "non_buyer")).alias("rfm_segment"),
        pick("category", ("phone", "tablet", "none")).alias("preferred_category"),
    )
    reachable = {
        channel: (F.col(f"has_address_{channel}") == 1)
        & ~((F.lit(channel) == "sms") & (F.col("is_sms_unsubscribed") == 1))
        for channel in CHANNELS
    }
    profile = profile.select(
        *[name for name in PROFILE_TYPES if not name.startswith(("can_receive_", "contact_ref_"))],
        *[reachable[channel].cast("smallint").alias(f"can_receive_{channel}") for channel in CHANNELS],
        *[
            F.when(reachable[channel], F.col(ADDRESS_COLUMNS[channel]))
            .otherwise(F.lit(""))
            .alias(f"contact_ref_{channel}")
            for channel in CHANNELS
        ],
    ).select(*PROFILE_TYPES)

    names = [f"seg_{index:02d}" for index in range(segments)]
    picks = F.array(*[F.pmod(F.xxhash64(F.col("one_id"), F.lit(k)), F.lit(segments)) for k in range(3)])
    membership = ids.select("one_id", F.explode(F.array_distinct(picks)).alias("index")).select(
        F.element_at(F.array(*[F.lit(n) for n in names]), (F.col("index") + 1).cast("int")).alias("segment"), "one_id"
    )
    plans = [
        plan(
            id=f"campaign_{index:02d}",
            include_segments=[names[index % segments], names[(index + 1) % segments]],
            exclude_segments=[names[(index + 2) % segments]],
            channels=list(CHANNELS[index % 3 : index % 3 + 3]),
            # the same channel mix as ever; a plan on WeChat OA templates must be a service notice to be valid
            purpose="service" if "wechat_oa_template" in CHANNELS[index % 3 : index % 3 + 3] else "marketing",
            priority=index % 4,
            benefit={"id": f"benefit_{index}", "unit_cost_fen": 100 + index, "per_user_cap": 3},
            budget_fen=people * 20,
            experiment={
                "salt": f"salt_{index}",
                "holdout_share": 0.1,
                "variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}],
            },
        )
        for index in range(campaigns)
    ]
    return profile, membership, plans


HISTORY_CAPPED_POLICY = DEFAULT_POLICY.model_copy(
    update={
        "frequency_caps": {
            "sms": DEFAULT_POLICY.frequency_caps["sms"],
            "app_push": DEFAULT_POLICY.frequency_caps["sms"].model_copy(update={"max_contacts": 1, "days": 3}),
        }
    }
)


def synthetic_history(spark, people: int, plans: list[CampaignPlan], run_date: date, days: int = 10):
    """Contact history of the `days` run dates before `run_date`: each person contacted on ~40% of them (one
    campaign a night, as arbitration allows), on one of the campaign's channels or '' (a holdout row), with the
    campaign's benefit; drawn from hashes of (id, day), so every policy step that reads history has work to do."""
    from pyspark.sql import functions as F

    def draw(salt: str, modulo: int):
        return F.pmod(F.xxhash64(F.col("one_id"), F.col("day"), F.lit(salt)), F.lit(modulo))

    campaign_ids = F.array(*[F.lit(p.id) for p in plans])
    benefits = F.array(*[F.lit(p.benefit.id if p.benefit else "") for p in plans])
    channels = F.array(*[F.array(*[F.lit(c) for c in (*p.channels, "")]) for p in plans])
    picked = (draw("campaign", len(plans)) + 1).cast("int")
    offered = F.element_at(channels, picked)
    return (
        spark.range(1, people + 1)
        .withColumnRenamed("id", "one_id")
        .crossJoin(spark.range(1, days + 1).withColumnRenamed("id", "day"))
        .where(draw("contacted", 10) < 4)
        .select(
            F.date_sub(F.lit(run_date), F.col("day").cast("int")).alias("run_date"),
            F.element_at(campaign_ids, picked).alias("campaign_id"),
            "one_id",
            F.element_at(offered, (draw("channel", 1_000) % F.size(offered) + 1).cast("int")).alias("channel"),
            F.element_at(benefits, picked).alias("benefit_id"),
        )
    )


def every_step_plans(plans: list[CampaignPlan], people: int) -> list[CampaignPlan]:
    """`synthetic_world`'s plans with the options it leaves out, so every step has something to decide: budgets
    that cut (scaled to `people`), plan frequency caps, a sized and a percent pilot sample, a plan open to internal
    test accounts, a free benefit capped at one per person, a priority change."""
    extra = {
        0: {"budget_fen": people * 4},
        1: {"frequency_cap": {"max_contacts": 1, "days": 5}},
        2: {"sample": {"size": max(people * 3 // 80, 1)}, "budget_fen": people * 2},
        3: {"sample": {"percent": 40, "salt": "pilot"}},
        4: {"allow_internal_test_accounts": True, "frequency_cap": {"max_contacts": 2, "days": 10}},
        5: {"budget_fen": None, "benefit": {"id": "benefit_5", "unit_cost_fen": 0, "per_user_cap": 1}},
        6: {"priority": 3, "budget_fen": people * 3},
    }
    return [
        CampaignPlan.model_validate({**plan.model_dump(), **extra.get(index, {})}) for index, plan in enumerate(plans)
    ]
