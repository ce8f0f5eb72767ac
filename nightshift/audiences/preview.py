"""`nightshift campaign preview ID`: the funnel from segment size to final audience, without writing anything.

The preview runs the same Spark steps as the audiences stage (`spark_jobs.audience.decide`) on the warehouse's
data for one date: segment membership of that date, the profile, earlier contacts (`audience.contact_history`:
caps, fatigue and budget spent) and every other plan active that day (arbitration depends on them). Data goes
from ClickHouse to Spark through Arrow in memory; nothing is written to the warehouse, the lake or the exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from nightshift.audiences.history import HISTORY_SQL, history_since, spent_before
from nightshift.campaigns.models import HOLDOUT, CampaignPlan, Policy
from nightshift.campaigns.plans import known_segment_names, load_plans, load_policy
from nightshift.errors import NightshiftError
from nightshift.settings import Settings, get_settings
from nightshift.warehouse.partitions import table_exists


@dataclass(frozen=True)
class FunnelStep:
    step: str
    reason: str
    lost: int
    remaining: int


@dataclass
class Preview:
    campaign_id: str
    run_date: date
    is_active: bool
    segment_sizes: dict[str, int] = field(default_factory=dict)
    included: int = 0  # people in any included segment
    candidates: int = 0  # ... and in no excluded segment
    steps: list[FunnelStep] = field(default_factory=list)
    # (variant, channel, people, cost_fen); holdout has channel ''
    breakdown: list[tuple[str, str, int, int]] = field(default_factory=list)
    competing: list[str] = field(default_factory=list)  # other campaigns active that day
    plan_problems: list[str] = field(default_factory=list)

    @property
    def audience(self) -> int:
        return self.steps[-1].remaining if self.steps else self.candidates


def funnel(decided, campaign_id: str, policy: Policy) -> tuple[int, list[FunnelStep]]:
    """Candidates of one campaign, then people lost at each step by reason, in the documented order."""
    from pyspark.sql import functions as F

    from spark_jobs.audience import STEPS

    mine = decided.where(F.col("campaign_id") == campaign_id)
    lost = {reason or "": count for reason, count in mine.groupBy("reason").count().collect()}
    total = sum(lost.values())
    person_reasons = tuple(rule.reason for rule in policy.suppression.person)
    steps, remaining = [], total
    for step, reasons in STEPS:
        reasons = person_reasons + reasons if step == "suppression" else reasons
        for reason in reasons or ("",):
            count = lost.get(reason, 0) if reason else 0
            remaining -= count
            steps.append(FunnelStep(step, reason, count, remaining))
    return total, steps


def _flags_as_ints(client, columns: list[str]) -> str:
    """SELECT list for Spark: unsigned integers widened (Spark has no unsigned types)."""
    types = dict(
        client.query(
            "SELECT name, type FROM system.columns WHERE database = 'marts' AND table = 'user_profile'"
        ).result_rows
    )
    missing = [column for column in columns if column not in types]
    if missing:
        raise NightshiftError(
            f"marts.user_profile lacks {', '.join(missing)} (contract in nightshift/contracts.py); rebuild it"
        )
    return ", ".join(
        f"toInt64(`{column}`) AS `{column}`" if "UInt" in types[column] else f"`{column}`" for column in columns
    )


def _latest_membership_date(client) -> date:
    if table_exists(client, "audience.segment_membership"):
        latest = client.query("SELECT max(run_date), count() FROM audience.segment_membership").result_rows[0]
        if latest[1]:
            return latest[0]
    raise NightshiftError("No segment membership in the warehouse yet: run `nightshift run --stages segments ...`")


def _frames(spark, client, plans: list[CampaignPlan], policy: Policy, run_date: date):
    """Membership, profile and history of `run_date` for `plans`, read through Arrow (nothing written)."""
    from spark_jobs.audience import HISTORY_SCHEMA, profile_columns

    segments = sorted({s for plan in plans for s in (*plan.include_segments, *plan.exclude_segments)})
    params = {"d": run_date, "segments": segments}
    membership_sql = (
        "SELECT segment, toInt64(one_id) AS one_id FROM audience.segment_membership "
        "WHERE run_date = {d:Date} AND segment IN {segments:Array(String)}"
    )
    columns = _flags_as_ints(client, profile_columns(policy))
    profile_sql = (
        f"SELECT toInt64(one_id) AS one_id, {columns} FROM marts.user_profile WHERE one_id IN "
        "(SELECT one_id FROM audience.segment_membership WHERE run_date = {d:Date} "
        "AND segment IN {segments:Array(String)})"
    )
    membership = spark.createDataFrame(client.query_arrow(membership_sql, parameters=params))
    profile = spark.createDataFrame(client.query_arrow(profile_sql, parameters=params))
    if _has_history(client):
        since = history_since(plans, policy, run_date)
        history = spark.createDataFrame(
            client.query_arrow(HISTORY_SQL, parameters={"since": since, "d": run_date}), HISTORY_SCHEMA
        )
    else:
        history = spark.createDataFrame([], HISTORY_SCHEMA)
    return membership, profile, history


def preview_campaign(campaign_id: str, run_date: date | None = None, settings: Settings | None = None) -> Preview:
    from pyspark.sql import functions as F

    from nightshift.spark import get_spark
    from nightshift.warehouse import get_client
    from spark_jobs.audience import campaign_frame, decide, spark_timezones

    settings = settings or get_settings()
    client = get_client(settings)
    run_date = run_date or _latest_membership_date(client)
    if not table_exists(client, "marts.user_profile"):
        raise NightshiftError("marts.user_profile does not exist yet: run the pipeline's build stage first")
    policy = load_policy()
    plan_set = load_plans(known_segments=known_segment_names(), policy=policy)
    plan = plan_set.get(campaign_id)
    competing = [other for other in plan_set.active(run_date) if other.id != campaign_id]
    plans = [plan, *competing]
    result = Preview(campaign_id, run_date, plan.is_active(run_date), competing=[p.id for p in competing])
    result.plan_problems = [str(error) for error in plan_set.errors]

    sizes = client.query(
        "SELECT segment, uniqExact(one_id) FROM audience.segment_membership WHERE run_date = {d:Date} "
        "AND segment IN {s:Array(String)} GROUP BY segment",
        parameters={"d": run_date, "s": [*plan.include_segments, *plan.exclude_segments]},
    ).result_rows
    result.segment_sizes = {name: 0 for name in (*plan.include_segments, *plan.exclude_segments)} | dict(sizes)
    result.included = client.query(
        "SELECT uniqExact(one_id) FROM audience.segment_membership WHERE run_date = {d:Date} "
        "AND segment IN {s:Array(String)}",
        parameters={"d": run_date, "s": list(plan.include_segments)},
    ).result_rows[0][0]

    spark = get_spark("nightshift-campaign-preview", settings)
    membership, profile, history = _frames(spark, client, plans, policy, run_date)
    campaigns = campaign_frame(spark, plans, policy, spent_before(client, run_date) if _has_history(client) else {})
    decided = decide(membership, profile, history, campaigns, policy, run_date, spark_timezones(spark))
    result.candidates, result.steps = funnel(decided, campaign_id, policy)
    kept = decided.where((F.col("campaign_id") == campaign_id) & F.col("reason").isNull())
    result.breakdown = sorted(
        (row.variant, row.channel, row["count"], int(row.cost_fen))
        for row in kept.groupBy("variant", "channel")
        .agg(F.count("*").alias("count"), F.sum("cost_fen").alias("cost_fen"))
        .collect()
    )
    return result


def _has_history(client) -> bool:
    """Whether contacts were ever recorded. Read-only, so an installation that has not run the audiences or export
    stage since `audience.contact_history` was introduced previews without history until it does."""
    return table_exists(client, "audience.contact_history")


def treated_count(preview: Preview) -> int:
    return sum(people for variant, _, people, _ in preview.breakdown if variant != HOLDOUT)
