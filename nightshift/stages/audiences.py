"""Audiences stage: every campaign plan active on the run date becomes an audience, in Spark.

Contract: reads the lake copies the segments stage wrote for the run date (`user_profile`, `segment_membership`),
the valid segment names of the run date (`audience.segment_changes`), and earlier dates of
`audience.contact_history` (contacts handed over: caps, fatigue and budget spent). Writes
`audience.campaign_audience` (every row with its `contact_id`) and `audience.exclusions` for the run date,
replacing that date's partition. The decision steps and their order are in `spark_jobs.audience`. Invalid plans
are skipped and listed in the summary; they never stop the valid ones.

An installation older than the contact tables is brought up to date first (`ensure_contact_tables`: the
`contact_id` column with older rows keyed in ClickHouse, and a contact history seeded from what was exported).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from nightshift.audiences.contacts import ensure_contact_tables
from nightshift.audiences.history import HISTORY_SQL, REQUIRED_PROFILE_COLUMNS, history_since, spent_before
from nightshift.campaigns.plans import CAMPAIGNS_DIR, POLICY_PATH, load_plans, load_policy
from nightshift.contracts import USER_PROFILE_COLUMNS
from nightshift.errors import NightshiftError
from nightshift.lake import dataset_exists, dataset_path, lake_to_table, table_to_lake
from nightshift.reconciliation.breaker import CIRCUIT_OPEN, open_breakers
from nightshift.stages.context import StageContext, StageResult
from nightshift.warehouse.partitions import reset_partitions, table_exists

log = logging.getLogger(__name__)

STAGE = "audiences"
OUTPUT_TABLES = ("audience.campaign_audience", "audience.exclusions")


def valid_segments(client, run_date) -> set[str]:
    """The segments the segments stage evaluated on the run date (every valid one, members or not)."""
    rows = client.query(
        "SELECT DISTINCT segment FROM audience.segment_changes WHERE run_date = {d:Date}", parameters={"d": run_date}
    ).result_rows
    return {segment for (segment,) in rows}


def run(ctx: StageContext, plans_dir: Path = CAMPAIGNS_DIR, policy_path: Path = POLICY_PATH) -> StageResult:
    """Audiences and exclusions of every plan active on the run date, loaded into the warehouse."""
    client, run_date, lake = ctx.client, ctx.run_date, ctx.settings.lake_root
    ensure_contact_tables(client)  # before reading or writing: an older installation gains them in place
    reset_partitions(client, run_date, OUTPUT_TABLES)
    if not table_exists(client, "marts.user_profile"):
        return StageResult(STAGE, run_date, summary="marts.user_profile does not exist yet: nothing to do")
    profile_path = dataset_path(lake, "user_profile", run_date)
    membership_path = dataset_path(lake, "segment_membership", run_date)
    if not (dataset_exists(profile_path) and dataset_exists(membership_path)):
        raise NightshiftError(
            f"The audiences stage reads the segments stage's lake output for {run_date} ({profile_path}, "
            f"{membership_path}), which is not there: run `nightshift run --date {run_date} --stages segments` first."
        )

    from pyspark.sql import functions as F

    from nightshift.spark import get_spark
    from spark_jobs.audience import (
        audience_rows,
        campaign_frame,
        decide,
        exclusion_rows,
        profile_columns,
        spark_timezones,
        stopped_rows,
    )

    spark = get_spark("nightshift-audiences", ctx.settings)
    profile = spark.read.parquet(profile_path)
    policy = load_policy(policy_path, known_columns=set(profile.columns) | set(USER_PROFILE_COLUMNS))
    plan_set = load_plans(
        plans_dir, valid_segments(client, run_date), known_columns=set(profile.columns), policy=policy
    )
    for error in plan_set.errors:
        log.warning("campaign plan skipped: %s", error)
    skipped = f"; {len(plan_set.errors)} plan problem(s), see `nightshift campaign validate`" if plan_set.errors else ""
    # A campaign whose breaker an earlier night's critical loss alert opened plans nobody until it is resumed.
    stopped = open_breakers(client, run_date - timedelta(days=1))
    stopped_plans = [plan for plan in plan_set.active(run_date) if plan.id in stopped]
    active = [plan for plan in plan_set.active(run_date) if plan.id not in stopped]
    if not active and not stopped_plans:
        return StageResult(STAGE, run_date, summary=f"no campaign active on {run_date}{skipped}")
    needed = sorted({*REQUIRED_PROFILE_COLUMNS, *profile_columns(policy)})
    missing = [column for column in needed if column not in profile.columns]
    if missing:
        return StageResult(
            STAGE,
            run_date,
            summary=f"campaign audiences skipped: marts.user_profile lacks {', '.join(missing)} "
            f"(contract in nightshift/contracts.py){skipped}",
        )

    membership = spark.read.parquet(membership_path)
    plans_frame = campaign_frame(spark, [*active, *stopped_plans], policy, spent_before(client, run_date))
    campaigns = plans_frame.where(~F.col("campaign_id").isin(list(stopped)))
    history_path = dataset_path(lake, "contact_history", run_date)
    since = history_since([*active, *stopped_plans], policy, run_date)
    table_to_lake(client, HISTORY_SQL, history_path, {"since": since, "d": run_date})
    history = spark.read.parquet(history_path)
    # decide() materialises its result, so the three reads below do not run the steps again.
    decided = decide(membership, profile, history, campaigns, policy, run_date, spark_timezones(spark))
    held = stopped_rows(membership, plans_frame.where(F.col("campaign_id").isin(list(stopped))), run_date, CIRCUIT_OPEN)

    outputs, rows = {}, {}
    for table, frame in (
        ("campaign_audience", audience_rows(decided, run_date)),
        ("exclusions", exclusion_rows(decided, run_date).unionByName(held)),
    ):
        path = dataset_path(lake, table, run_date)
        # no coalesce(1): it would write the whole night's pairs from one task on one core
        frame.write.mode("overwrite").parquet(path)
        rows[f"audience.{table}"] = lake_to_table(client, path, f"audience.{table}").rows
        outputs[f"{table}_parquet"] = path
    sizes = dict(decided.where(F.col("reason").isNull()).groupBy("campaign_id").count().collect())
    summary = ", ".join(f"{plan.id}: {sizes.get(plan.id, 0)}" for plan in active)
    if stopped_plans:
        summary += "; circuit open (see `nightshift reconcile show`): " + ", ".join(p.id for p in stopped_plans)
    return StageResult(STAGE, run_date, rows=rows, outputs=outputs, summary=f"audiences {summary}{skipped}")
