"""Reconcile stage (对账补单, 资损监控): every contact handed to a channel against what the benefit system and the
vendors recorded, key by key, in Spark (`spark_jobs.reconcile`, whose docstring lists the rules in order).

Reads: `audience.contact_history` (the plan side: contacts and make-up orders handed over on earlier nights), the
benefit ledger `raw.benefits__grants` and the vendor receipts `raw.receipts__*` (normalised by
`nightshift.reconciliation.inputs`), yesterday's classifications, the campaign plans and the policy's
`reconciliation:` settings. Writes, replacing the run date's partition of each:
- `audience.reconciliation_items`: one row per key in exactly one class (history per run date, never overwritten);
- `audience.reconciliation`: keys and money per business date, campaign and class;
- `audience.loss_alerts`: the loss monitors' findings; a critical one opens the campaign's breaker;
- `audience.replenishment` (make-up orders, exported tonight by the export stage; across dates the ledger of every
  key ever made up);
- `audience.resends`: contacts whose delivery failed, sent once more tonight on the campaign's next fallback channel
  the person can receive within the policy's frequency caps, at the campaign's send time (quiet hours respected);
- `audience.replenishment_refusals`: what could not be made up or resent, and why;
- `audience.receipt_matching`: per vendor, receipts matched by their key, by address (records without the key),
  ambiguous (several contacts at that address and day: assigned to none) and unmatched.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from nightshift.audiences.contacts import HISTORY, ensure_contact_tables
from nightshift.campaigns.plans import CAMPAIGNS_DIR, POLICY_PATH, load_plans, load_policy
from nightshift.lake import dataset_path, lake_to_table, table_to_lake
from nightshift.reconciliation.breaker import open_breakers
from nightshift.reconciliation.inputs import (
    DELIVERY_RESULTS,
    GRANTS_SQL,
    PLAN_SQL,
    RECEIPT_SOURCES,
    receipt_matching_sql,
    receipts_sql,
)
from nightshift.stages.context import StageContext, StageResult
from nightshift.warehouse.partitions import has_column, reset_partitions, table_exists

STAGE = "reconcile"
OUTPUT_TABLES = (
    "audience.reconciliation_items",
    "audience.reconciliation",
    "audience.loss_alerts",
    "audience.replenishment",
    "audience.resends",
    "audience.replenishment_refusals",
    "audience.receipt_matching",
)
PREVIOUS_SQL = """
SELECT contact_id, min(first_seen_run_date) AS first_seen_run_date, min(resolved_run_date) AS resolved_run_date
FROM audience.reconciliation_items WHERE run_date < {d:Date} AND class != 'unplanned_grant' GROUP BY contact_id
"""
MADE_UP_SQL = "SELECT DISTINCT replenishes AS contact_id FROM audience.replenishment WHERE run_date < {d:Date}"
RESENT_SQL = "SELECT DISTINCT replenishes AS contact_id FROM audience.resends WHERE run_date < {d:Date}"
# Contacts that count against the policy's frequency caps tonight: handed over on earlier nights, and tonight's plan.
RECENT_CONTACTS_SQL = """
SELECT toInt64(one_id) AS one_id, toString(channel) AS channel, run_date AS contact_date FROM audience.contact_history
WHERE run_date < {d:Date} AND run_date >= {d:Date} - 366 AND channel != ''
UNION ALL
SELECT toInt64(one_id), toString(channel), run_date FROM audience.campaign_audience
WHERE run_date = {d:Date} AND channel != '' AND variant != 'holdout'
"""
# Per person, the channels a resend may use: consented and reachable, with an address, not closed by a policy flag.
REACHABLE_SQL = """
SELECT toInt64(one_id) AS one_id, '{channel}' AS channel, toString(contact_ref_{channel}) AS contact_ref,
       toString(timezone) AS timezone
FROM marts.user_profile
WHERE can_receive_{channel} = 1 AND contact_ref_{channel} != '' {closed}
"""
# Never made up: people the policy suppresses everywhere, people no channel may reach (opted out everywhere), and
# anybody held out of a campaign (a make-up to a holdout person would spoil the measurement).
BLOCKED_PEOPLE_SQL = """
SELECT toInt64(one_id) AS one_id FROM marts.user_profile WHERE {person_flags} OR NOT ({reachable})
UNION DISTINCT
SELECT toInt64(one_id) FROM audience.campaign_audience WHERE variant = 'holdout' AND run_date <= {{d:Date}}
"""


def _drop_old_shapes(client) -> None:
    """Tables of the placeholder reconciliation (per segment) hold nothing worth keeping: rebuilt declared."""
    for table in ("audience.reconciliation", "audience.replenishment"):
        if has_column(client, table, "segment"):
            client.command(f"DROP TABLE {table}")


def _blocked_people_sql(policy) -> str:
    flags = [rule.column for rule in policy.suppression.person] or ["0"]
    from nightshift.contracts import CHANNELS

    reachable = " OR ".join(f"can_receive_{channel} = 1" for channel in CHANNELS)
    return BLOCKED_PEOPLE_SQL.format(person_flags=" OR ".join(f"{flag} = 1" for flag in flags), reachable=reachable)


def _reachable_sql(policy) -> str:
    from nightshift.contracts import CHANNELS

    parts = []
    for channel in CHANNELS:
        closed = "".join(f" AND {flag} != 1" for flag in policy.suppression.channel.get(channel, []))
        parts.append(REACHABLE_SQL.format(channel=channel, closed=closed))
    return "\nUNION ALL\n".join(parts)


def _send_times(plans, policy) -> list[tuple[str, str]]:
    """Each campaign's local send time: the earliest in its send window outside the quiet hours."""
    from nightshift.campaigns.models import first_send_time

    times = [(plan.id, first_send_time(plan.send_window, policy.quiet_hours)) for plan in plans]
    return [(campaign, moment.strftime("%H:%M:%S")) for campaign, moment in times if moment is not None]


def _campaign_rows(plans, run_date: date, stopped: set[str]) -> list[tuple]:
    return [
        (
            plan.id,
            plan.is_running(run_date),
            plan.id in stopped,
            plan.budget_fen,
            plan.benefit.per_user_cap if plan.benefit else None,
            list(plan.channels),
        )
        for plan in plans
    ]


def run(ctx: StageContext, plans_dir: Path = CAMPAIGNS_DIR, policy_path: Path = POLICY_PATH) -> StageResult:
    client, run_date, lake = ctx.client, ctx.run_date, ctx.settings.lake_root
    _drop_old_shapes(client)
    ensure_contact_tables(client)
    reset_partitions(client, run_date, OUTPUT_TABLES)
    handed_over = client.query(f"SELECT count() FROM {HISTORY} WHERE run_date < {{d:Date}}", parameters={"d": run_date})
    if not handed_over.result_rows[0][0]:
        return StageResult(STAGE, run_date, summary=f"nothing was handed to a channel before {run_date}: nothing to do")

    policy = load_policy(policy_path)
    plans = load_plans(plans_dir, None, None, policy).plans
    campaign_ids = [plan.id for plan in plans]
    settings = policy.reconciliation
    params = {"d": run_date, "campaigns": campaign_ids}
    candidates = (*RECEIPT_SOURCES, DELIVERY_RESULTS, "raw.benefits__grants", "audience.campaign_audience",
                  "audience.resends")  # fmt: skip
    tables = {table for table in candidates if table_exists(client, table)}
    # The Spark job's inputs, each written to the lake by ClickHouse; a side with no table yet is read as empty.
    inputs = {"plan": PLAN_SQL, "previous": PREVIOUS_SQL, "made_up": MADE_UP_SQL, "resent": RESENT_SQL}
    if "raw.benefits__grants" in tables:
        inputs["grants"] = GRANTS_SQL
    if receipts := receipts_sql(tables):
        inputs["receipts"] = receipts
    if matching := receipt_matching_sql(tables):  # how receipts found their key; ambiguous ones are counted here
        client.command(
            f"INSERT INTO audience.receipt_matching SELECT {{d:Date}}, * FROM ({matching})", parameters=params
        )
    if table_exists(client, "marts.user_profile") and table_exists(client, "audience.campaign_audience"):
        inputs["blocked"] = _blocked_people_sql(policy)
        inputs["recent"] = RECENT_CONTACTS_SQL
    if table_exists(client, "marts.user_profile"):
        inputs["reachable"] = _reachable_sql(policy)
    paths = {name: dataset_path(lake, f"reconcile_{name}", run_date) for name in inputs}
    for name, sql in inputs.items():
        table_to_lake(client, sql, paths[name], params)

    from nightshift.spark import get_spark
    from spark_jobs import reconcile as job
    from spark_jobs.audience import schedule, spark_timezones

    spark = get_spark("nightshift-reconcile", ctx.settings)

    def read(name: str, schema: str):
        return spark.read.schema(schema).parquet(paths[name]) if name in inputs else spark.createDataFrame([], schema)

    plan = read("plan", job.PLAN_SCHEMA)
    grants = read("grants", job.GRANTS_SCHEMA)
    receipts_frame = read("receipts", job.RECEIPTS_SCHEMA)
    classified = job.classify(plan, grants, receipts_frame, read("previous", job.PREVIOUS_SCHEMA), run_date,
                              settings.lag_days)  # fmt: skip

    from pyspark.sql import functions as F

    rows: dict[str, int] = {}
    outputs: dict[str, str] = {}

    def load(frame, table: str) -> None:
        path = dataset_path(lake, table.split(".")[1], run_date)
        # no coalesce(1): it would pull the whole classification into one task (measured 2x slower at 1M keys)
        frame.select(F.lit(run_date).alias("run_date"), "*").write.mode("overwrite").parquet(path)
        rows[table] = lake_to_table(client, path, table).rows
        outputs[f"{table.split('.')[1]}_parquet"] = path

    load(classified, "audience.reconciliation_items")
    # Everything after reads the items back from the lake instead of caching them: building an in-memory cache of
    # every key nearly doubled the CPU time of classifying them (measured at 1M keys); the Parquet just written is one.
    items = spark.read.parquet(outputs["reconciliation_items_parquet"]).drop("run_date")
    load(job.summarise(items), "audience.reconciliation")
    thresholds = job.Thresholds(**settings.model_dump(exclude={"lag_days"}))
    alerts_campaigns = spark.createDataFrame(_campaign_rows(plans, run_date, set()), job.CAMPAIGNS_SCHEMA)
    alerts = job.loss_alerts(items, grants, alerts_campaigns, run_date, thresholds)
    load(alerts, "audience.loss_alerts")
    # Tonight's critical alerts count already: a campaign that just tripped gets no make-up order tonight.
    stopped = set(open_breakers(client, run_date))
    campaigns = spark.createDataFrame(_campaign_rows(plans, run_date, stopped), job.CAMPAIGNS_SCHEMA)

    # Tonight's decisions are computed once (a local checkpoint, as the audience job does) and split into orders
    # and refusals: a frame used twice is computed twice, and the refusals alone took as long as both halves
    # (4.1-4.4 s of a warm 20k-people night).
    make_ups = job.make_up_decisions(items, plan, grants, read("made_up", "contact_id string"), campaigns,
                                     read("blocked", "one_id long")).localCheckpoint()  # fmt: skip
    orders, refusals = job.split_make_ups(make_ups, run_date)
    load(
        orders.select("contact_id", "replenishes", "business_date", "campaign_id", "channel", "one_id", "benefit_id",
                      "planned_fen"),
        "audience.replenishment",
    )  # fmt: skip
    resend_choices = job.resend_decisions(
        items, plan, read("resent", "contact_id string"), campaigns, read("blocked", "one_id long"),
        read("reachable", "one_id long, channel string, contact_ref string, timezone string"),
        read("recent", "one_id long, channel string, contact_date date"),
        spark.createDataFrame([(channel, cap.max_contacts, cap.days) for channel, cap in policy.frequency_caps.items()],
                              "channel string, max_contacts long, days long"),
        run_date,
    )  # fmt: skip
    resends, resend_refusals = job.split_resends(resend_choices.localCheckpoint())
    variants = read("plan", "contact_id string, variant string").withColumnRenamed("contact_id", "replenishes")
    send_times = spark.createDataFrame(_send_times(plans, policy), "campaign_id string, send_local_time string")
    scheduled = schedule(resends.join(send_times, on="campaign_id", how="inner"), run_date, policy.default_timezone,
                         spark_timezones(spark))  # fmt: skip
    load(
        scheduled.join(variants, on="replenishes", how="left").select(
            "contact_id", "replenishes", "campaign_id", "channel", "one_id",
            F.coalesce(F.col("variant"), F.lit("")).alias("variant"), "contact_ref", "send_at",
        ),
        "audience.resends",
    )  # fmt: skip
    load(refusals.unionByName(resend_refusals), "audience.replenishment_refusals")
    by_class = dict(items.groupBy("class").count().collect())
    classes = ", ".join(f"{klass} {count:,}" for klass, count in sorted(by_class.items())) or "no keys in the window"
    critical = client.query(
        "SELECT count() FROM audience.loss_alerts WHERE run_date = {d:Date} AND severity = 'critical'",
        parameters={"d": run_date},
    ).result_rows[0][0]
    summary = (
        f"{classes}; {rows['audience.replenishment']:,} make-up orders, {rows['audience.resends']:,} resends on a "
        f"fallback channel, {rows['audience.replenishment_refusals']:,} refused; "
        f"{rows['audience.loss_alerts']:,} loss alerts"
        + (f" ({critical} critical: breaker open for {', '.join(sorted(stopped))})" if critical else "")
    )
    return StageResult(STAGE, run_date, rows=rows, outputs=outputs, summary=summary)
