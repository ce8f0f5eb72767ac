"""A permanent failure recorded by the deliver stage reaches reconciliation as `delivery_failed` with the vendor's
code (`audience.delivery_results` is a receipt source: `reconciliation.inputs.DELIVERY_FAILURES_SQL`), and from
there the plan's next fallback channel the person can take (`spark_jobs.reconcile.resend_decisions`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from nightshift.reconciliation.inputs import DELIVERY_RESULTS, receipts_sql
from nightshift.warehouse.schema import ensure_tables
from spark_jobs.reconcile import (
    CAMPAIGNS_SCHEMA,
    GRANTS_SCHEMA,
    PLAN_SCHEMA,
    PREVIOUS_SCHEMA,
    RECEIPTS_SCHEMA,
    classify,
    resend_decisions,
    split_resends,
)
from tests.spark_jobs.test_reconcile import CAPS, REACHABLE, RECENT, plan_row

D = date(2025, 6, 10)  # a date no other test writes delivery results for
ANSWERED = D + timedelta(days=1)
COLUMNS = ["run_date", "campaign_id", "channel", "contact_id", "attempt", "status", "vendor_code",
           "vendor_message_id", "sent_at"]  # fmt: skip


def test_failed_delivery_result_is_delivery_failed_with_the_vendor_code(client, spark):
    ensure_tables(client, DELIVERY_RESULTS)
    start = datetime(2025, 6, 10, 12, tzinfo=UTC)

    def row(key: str, attempt: int, status: str, code: str, seconds: int, channel: str = "wechat_oa_template") -> list:
        return [D, "camp", channel, key, attempt, status, code, "", start + timedelta(seconds=seconds)]

    client.insert(DELIVERY_RESULTS, [
        row("dr-refused", 1, "sending", "", 0), row("dr-refused", 1, "failed", "43004", 1),
        row("dr-sent", 1, "sending", "", 0), row("dr-sent", 1, "accepted", "0", 1),
        # failed on a first run's throttling, accepted on the rerun: its latest result counts
        row("dr-retried", 1, "sending", "", 0), row("dr-retried", 1, "gave_up", "45011", 1),
        row("dr-retried", 2, "sending", "", 5), row("dr-retried", 2, "accepted", "0", 6),
        # WeCom sends no delivery reports, but a refused tagging is still a failed delivery
        row("dr-wecom", 1, "sending", "", 0, "wecom"), row("dr-wecom", 1, "failed", "84061", 1, "wecom"),
    ], column_names=COLUMNS)  # fmt: skip
    sql = f"SELECT * FROM ({receipts_sql({DELIVERY_RESULTS})}) WHERE contact_id LIKE 'dr-%' ORDER BY contact_id"
    receipts = client.query(sql, parameters={"d": ANSWERED}).result_rows
    assert receipts == [
        ("dr-refused", "wechat_oa_template", False, "43004", D),
        ("dr-wecom", "wecom", False, "84061", D),
    ]

    plan = [plan_row(key, channel="wechat_oa_template", benefit="", fen=0, day=D, one_id=n)
            for n, key in enumerate(("dr-refused", "dr-sent"), start=1)]  # fmt: skip
    plan.append(plan_row("dr-wecom", channel="wecom", benefit="", fen=0, day=D, one_id=3))
    plan_frame = spark.createDataFrame(plan, PLAN_SCHEMA)
    items = classify(
        plan_frame, spark.createDataFrame([], GRANTS_SCHEMA),
        spark.createDataFrame(receipts, RECEIPTS_SCHEMA), spark.createDataFrame([], PREVIOUS_SCHEMA), ANSWERED,
    )  # fmt: skip
    rows = {row.contact_id: row for row in items.collect()}
    assert rows["dr-refused"]["class"] == "delivery_failed" and rows["dr-refused"].vendor_code == "43004"
    assert rows["dr-wecom"]["class"] == "delivery_failed" and rows["dr-wecom"].vendor_code == "84061"
    assert rows["dr-sent"]["class"] != "delivery_failed"

    # The plan falls back from WeChat to SMS, then from WeCom to app push: the refused template message goes out
    # once more by SMS, the refused tagging by push, the accepted message nowhere.
    campaigns = [("camp", True, False, 100_000, 1, ["wechat_oa_template", "sms", "wecom", "app_push"])]
    reachable = [(1, "sms", "+8613800000001", "Asia/Shanghai"), (2, "sms", "+8613800000002", "Asia/Shanghai"),
                 (3, "app_push", "reg-3", "Asia/Shanghai")]  # fmt: skip
    orders, refusals = split_resends(resend_decisions(
        items, plan_frame, spark.createDataFrame([], "contact_id string"),
        spark.createDataFrame(campaigns, CAMPAIGNS_SCHEMA), spark.createDataFrame([], "one_id long"),
        spark.createDataFrame(reachable, REACHABLE), spark.createDataFrame([], RECENT),
        spark.createDataFrame([("sms", 2, 7), ("app_push", 2, 7)], CAPS), ANSWERED,
    ))  # fmt: skip
    resent = {row.replenishes: (row.channel, row.contact_ref) for row in orders.collect()}
    assert resent == {"dr-refused": ("sms", "+8613800000001"), "dr-wecom": ("app_push", "reg-3")}
    assert refusals.count() == 0
