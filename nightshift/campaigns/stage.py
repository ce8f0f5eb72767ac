"""Campaign audiences inside the segments stage: after membership, every active plan becomes an audience.

Contract: reads `marts.user_profile` and segment membership (as Spark DataFrames the stage already has), earlier
dates of `audience.campaign_audience` (contact history and budget spent); writes `audience.campaign_audience` and
`audience.exclusions` for the run date, replacing that date's partition. Invalid plans are skipped and listed in
the summary; they never stop the valid ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from nightshift.campaigns.models import CampaignPlan, Policy
from nightshift.campaigns.plans import CAMPAIGNS_DIR, POLICY_PATH, load_plans, load_policy
from nightshift.contracts import USER_PROFILE_COLUMNS
from nightshift.lake import dataset_path, lake_to_table, table_to_lake
from nightshift.pipeline import StageContext
from nightshift.tables import drop_date_partition, table_exists

log = logging.getLogger(__name__)

AUDIENCE_DDL = """
CREATE TABLE IF NOT EXISTS audience.campaign_audience
(
    run_date     Date,
    campaign_id  LowCardinality(String),
    one_id       UInt64,
    variant      LowCardinality(String),
    channel      LowCardinality(String),
    contact_ref  String,
    send_at      DateTime('UTC'),
    benefit_id   LowCardinality(String),
    cost_fen     Int64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, one_id)
"""
EXCLUSIONS_DDL = """
CREATE TABLE IF NOT EXISTS audience.exclusions
(
    run_date     Date,
    campaign_id  LowCardinality(String),
    one_id       UInt64,
    reason       LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, reason, one_id)
"""
# Contacts really made (holdout rows have an empty channel) on earlier dates, for caps and the budget score.
HISTORY_SQL = """
SELECT run_date, campaign_id, toInt64(one_id) AS one_id, channel, benefit_id
FROM audience.campaign_audience
WHERE run_date >= {since:Date} AND run_date < {d:Date} AND channel != ''
"""
SPENT_SQL = """
SELECT campaign_id, sum(cost_fen) FROM audience.campaign_audience
WHERE run_date < {d:Date} GROUP BY campaign_id
"""
# Columns the audience steps read; a profile without them cannot be targeted (see nightshift/contracts.py).
REQUIRED_PROFILE_COLUMNS = tuple(
    column for column in USER_PROFILE_COLUMNS if column.startswith(("can_receive_", "contact_ref_"))
) + ("timezone",)


@dataclass
class AudienceRun:
    rows: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def ensure_tables(client) -> None:
    client.command(AUDIENCE_DDL)
    client.command(EXCLUSIONS_DDL)


def history_since(plans: list[CampaignPlan], policy: Policy, run_date: date) -> date:
    """First date of history the caps need: the longest rolling window, and each benefit's campaign lifetime."""
    windows = [cap.days for cap in policy.frequency_caps.values()]
    windows += [plan.frequency_cap.days for plan in plans if plan.frequency_cap]
    from spark_jobs.audience import BUDGET_FATIGUE_DAYS

    since = run_date - timedelta(days=max([*windows, BUDGET_FATIGUE_DAYS]))
    starts = [plan.start_date for plan in plans if plan.benefit]
    return min([since, *starts])


def spent_before(client, run_date: date) -> dict[str, int]:
    rows = client.query(SPENT_SQL, parameters={"d": run_date}).result_rows
    return {campaign_id: int(spent) for campaign_id, spent in rows}


def compute_audiences(
    ctx: StageContext,
    spark,
    profile,
    membership,
    known_segments: set[str],
    plans_dir: Path = CAMPAIGNS_DIR,
    policy_path: Path = POLICY_PATH,
) -> AudienceRun:
    """Audiences and exclusions of every plan active on the run date, loaded into the warehouse."""
    from pyspark.sql import functions as F

    from spark_jobs.audience import (
        audience_rows,
        campaign_frame,
        decide,
        exclusion_rows,
        profile_columns,
        spark_timezones,
    )

    client, run_date, lake = ctx.client, ctx.run_date, ctx.settings.lake_root
    ensure_tables(client)
    for table in ("audience.campaign_audience", "audience.exclusions"):
        drop_date_partition(client, table, run_date)

    policy = load_policy(policy_path, known_columns=set(profile.columns) | set(USER_PROFILE_COLUMNS))
    plan_set = load_plans(plans_dir, known_segments, known_columns=set(profile.columns), policy=policy)
    for error in plan_set.errors:
        log.warning("campaign plan skipped: %s", error)
    skipped = f"; {len(plan_set.errors)} plan problem(s), see `nightshift campaign validate`" if plan_set.errors else ""
    active = plan_set.active(run_date)
    if not active:
        return AudienceRun(summary=f"no campaign active on {run_date}{skipped}")
    needed = sorted({*REQUIRED_PROFILE_COLUMNS, *profile_columns(policy)})
    missing = [column for column in needed if column not in profile.columns]
    if missing:
        return AudienceRun(
            summary=f"campaign audiences skipped: marts.user_profile lacks {', '.join(missing)} "
            f"(contract in nightshift/contracts.py){skipped}"
        )

    history_path = dataset_path(lake, "contact_history", run_date)
    table_to_lake(client, HISTORY_SQL, history_path, {"since": history_since(active, policy, run_date), "d": run_date})
    history = spark.read.parquet(history_path)
    campaigns = campaign_frame(spark, active, policy, spent_before(client, run_date))
    decided = decide(membership, profile, history, campaigns, policy, run_date, spark_timezones(spark)).cache()

    outputs, rows = {}, {}
    for table, rows_of in (("campaign_audience", audience_rows), ("exclusions", exclusion_rows)):
        path = dataset_path(lake, table, run_date)
        rows_of(decided, run_date).coalesce(1).write.mode("overwrite").parquet(path)
        rows[f"audience.{table}"] = lake_to_table(client, path, f"audience.{table}").rows
        outputs[f"{table}_parquet"] = path
    sizes = dict(decided.where(F.col("reason").isNull()).groupBy("campaign_id").count().collect())
    decided.unpersist()
    summary = ", ".join(f"{plan.id}: {sizes.get(plan.id, 0)}" for plan in active)
    return AudienceRun(rows=rows, outputs=outputs, summary=f"audiences {summary}{skipped}")


def profile_exists(client) -> bool:
    return table_exists(client, "marts.user_profile")
