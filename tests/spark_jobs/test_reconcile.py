"""spark_jobs.reconcile on crafted nights: every class, keys moving from pending to final, make-up orders, alerts."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import pytest

from spark_jobs.reconcile import (
    CAMPAIGNS_SCHEMA,
    GRANTS_SCHEMA,
    PLAN_SCHEMA,
    PREVIOUS_SCHEMA,
    RECEIPTS_SCHEMA,
    Thresholds,
    abnormal_peaks,
    classify,
    loss_alerts,
    make_up_decisions,
    resend_decisions,
    split_make_ups,
    split_resends,
    summarise,
)

D = date(2026, 11, 20)  # the business date: contacts handed over that night
ANSWERED = D + timedelta(days=1)  # the night the world's answers arrive
PAST_LAG = D + timedelta(days=4)  # lag 3: from here on a missing answer is final


def plan_row(key, channel="sms", benefit="coupon", fen=500, one_id=None, source="plan", replenishes="", day=D):
    return (key, day, "camp", channel, one_id or abs(hash(key)) % 10_000, benefit, fen, source, replenishes)


PLAN = [
    plan_row("ok"),
    plan_row("failed"),
    plan_row("dup"),
    plan_row("amount"),
    plan_row("missing"),
    plan_row("late_receipt"),
    plan_row("message_only", channel="app_push", benefit="", fen=0),
    plan_row("wecom_coupon", channel="wecom"),
]


def grant(grant_id, key, amount=500, reported=ANSWERED, minute=0, campaign="camp", one_id=7):
    return (grant_id, key, campaign, one_id, amount, datetime(2026, 11, 21, 10, minute), reported)


GRANTS = [
    grant("g1", "ok"),
    grant("g2", "failed"),
    grant("g3", "dup"),
    grant("g4", "dup"),
    grant("g5", "amount", amount=50_000),
    grant("g6", "late_receipt"),
    grant("g7", "wecom_coupon"),
    grant("g8", "ops-1"),  # a grant nobody planned
    grant("g9", ""),  # a grant carrying no key at all
]
RECEIPTS = [(key, "sms", True, "DELIVERED", ANSWERED) for key in ("ok", "dup", "amount", "missing")] + [
    ("failed", "sms", False, "isv.MOBILE_NUMBER_ILLEGAL", ANSWERED),
    ("message_only", "app_push", True, "0", ANSWERED),
]


@pytest.fixture(scope="module")
def frames(spark):
    def make(rows, schema):
        return spark.createDataFrame(rows, schema)

    return make


def python_make_up_key(original: str) -> str:
    """The documented formula, independently: first 32 hex chars of sha256("replenish|<original key>")."""
    return hashlib.sha256(f"replenish|{original}".encode()).hexdigest()[:32]


def classes(items) -> dict[str, str]:
    return {row.contact_id: row["class"] for row in items.collect()}


def test_every_class_on_a_crafted_night(frames):
    plan, grants, receipts = frames(PLAN, PLAN_SCHEMA), frames(GRANTS, GRANTS_SCHEMA), frames(RECEIPTS, RECEIPTS_SCHEMA)
    items = classify(plan, grants, receipts, frames([], PREVIOUS_SCHEMA), ANSWERED)
    assert classes(items) == {
        "ok": "ok",
        "failed": "delivery_failed",
        "dup": "duplicate_grant",
        "amount": "amount_mismatch",
        "missing": "pending",  # no grant yet, inside the lag window: not an error
        "late_receipt": "pending",  # granted, receipt still expected
        "message_only": "ok",
        "wecom_coupon": "ok",  # WeCom reports no receipts: granted is all there is to check
        "ops-1": "unplanned_grant",
        "": "unplanned_grant",
    }
    rows = {row.contact_id: row for row in items.collect()}
    assert rows["dup"].grants == 2 and rows["dup"].granted_fen == 1000
    assert rows["failed"].vendor_status == "failed" and rows["failed"].vendor_code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert rows["ok"].resolved_run_date == ANSWERED and rows["missing"].resolved_run_date is None
    assert rows["ops-1"].granted_fen == 500 and rows["ops-1"].planned_fen == 0

    # counts add up: every planned key in exactly one class
    summary = {(row["class"]): row.keys for row in summarise(items).collect()}
    assert sum(keys for klass, keys in summary.items() if klass != "unplanned_grant") == len(PLAN)


def test_keys_move_from_pending_to_their_final_class_and_keep_their_history(frames):
    plan, receipts = frames(PLAN, PLAN_SCHEMA), frames(RECEIPTS, RECEIPTS_SCHEMA)
    first = classify(plan, frames(GRANTS, GRANTS_SCHEMA), receipts, frames([], PREVIOUS_SCHEMA), ANSWERED)
    previous = first.select("contact_id", "first_seen_run_date", "resolved_run_date")
    late = [("late_receipt", "sms", True, "DELIVERED", ANSWERED + timedelta(days=2))]
    later = classify(plan, frames(GRANTS, GRANTS_SCHEMA), frames(RECEIPTS + late, RECEIPTS_SCHEMA), previous, PAST_LAG)
    rows = {row.contact_id: row for row in later.collect()}
    assert rows["late_receipt"]["class"] == "ok" and rows["late_receipt"].resolved_run_date == PAST_LAG
    assert rows["missing"]["class"] == "missing_grant" and rows["missing"].resolved_run_date == PAST_LAG
    assert rows["ok"].first_seen_run_date == ANSWERED and rows["ok"].resolved_run_date == ANSWERED
    assert "ops-1" not in rows  # an unplanned grant is reported on the night it arrives, once


def test_every_unplanned_grant_of_tonight_is_one_item_even_on_the_same_key(frames):
    """The keyed pass aggregates per key; unplanned grants must still come out one per grant (the same unknown key
    granted twice, and grants carrying a null key), and a planned key granted twice stays one duplicate item."""
    grants = GRANTS + [grant("g40", "ops-2", amount=100), grant("g41", "ops-2", amount=200, campaign="other")]
    grants += [grant("g42", None, amount=300), grant("g43", "ops-3", reported=D)]  # ops-3: an earlier night's
    items = classify(frames(PLAN, PLAN_SCHEMA), frames(grants, GRANTS_SCHEMA), frames(RECEIPTS, RECEIPTS_SCHEMA),
                     frames([], PREVIOUS_SCHEMA), ANSWERED)  # fmt: skip
    unplanned = sorted(
        (row.contact_id or "", row.campaign_id, row.granted_fen, row.grants)
        for row in items.where("class = 'unplanned_grant'").collect()
    )
    assert unplanned == [("", "camp", 300, 1), ("", "camp", 500, 1), ("ops-1", "camp", 500, 1),
                         ("ops-2", "camp", 100, 1), ("ops-2", "other", 200, 1)]  # fmt: skip
    assert [row.grants for row in items.where("contact_id = 'dup'").collect()] == [2]


def test_outside_the_window_keys_are_no_longer_reconciled(frames):
    items = classify(frames(PLAN, PLAN_SCHEMA), frames(GRANTS, GRANTS_SCHEMA), frames(RECEIPTS, RECEIPTS_SCHEMA),
                     frames([], PREVIOUS_SCHEMA), D + timedelta(days=6))  # fmt: skip
    assert items.count() == 0


CAMPAIGNS = [("camp", True, False, 100_000, 1, ["sms", "app_push"])]


def test_make_up_orders_once_within_caps_and_budget(frames):
    plan = frames(PLAN + [plan_row("blocked_missing", one_id=99), plan_row("capped_missing", one_id=55),
                          plan_row("capped_other", one_id=55)], PLAN_SCHEMA)  # fmt: skip
    grants = frames(GRANTS + [grant("g20", "capped_other", one_id=55)], GRANTS_SCHEMA)
    receipts = frames(RECEIPTS, RECEIPTS_SCHEMA)
    # Computed once, as the stage reads them back from its Parquet: the six make-up runs below all read it (uncached,
    # each of their actions classified again; cached, each still planned the classification again to find the cache).
    items = classify(plan, grants, receipts, frames([], PREVIOUS_SCHEMA), PAST_LAG).localCheckpoint()
    blocked = frames([(99,)], "one_id long")

    def make_ups(campaigns=CAMPAIGNS):
        # the stage's way: the decisions computed once (a local checkpoint), then split into orders and refusals
        decided = make_up_decisions(items, plan, grants, frames([], "contact_id string"),
                                    frames(campaigns, CAMPAIGNS_SCHEMA), blocked).localCheckpoint()  # fmt: skip
        return split_make_ups(decided, PAST_LAG)

    orders, refusals = make_ups()
    made = {row.replenishes: row for row in orders.collect()}
    assert set(made) == {"missing"}
    assert made["missing"].contact_id == python_make_up_key("missing") and made["missing"].channel == ""
    assert made["missing"].source == "replenishment" and made["missing"].planned_fen == 500
    assert {row.contact_id: row.reason for row in refusals.collect()} == {
        "blocked_missing": "person_blocked",
        "capped_missing": "over_user_cap",
    }
    # a key made up on an earlier night is never made up again
    again, _ = split_make_ups(make_up_decisions(items, plan, grants, frames([("missing",)], "contact_id string"),
                                                frames(CAMPAIGNS, CAMPAIGNS_SCHEMA), blocked), PAST_LAG)  # fmt: skip
    assert again.count() == 0
    # over budget, inactive or with an open breaker: refused with the reason
    for campaign, reason in (
        (("camp", True, False, 3_500, 1, ["sms"]), "over_budget"),
        (("camp", False, False, 100_000, 1, ["sms"]), "campaign_inactive"),
        (("camp", True, True, 100_000, 1, ["sms"]), "circuit_open"),
    ):
        none, refused = make_ups([campaign])
        assert none.count() == 0 and {row.contact_id: row.reason for row in refused.collect()}["missing"] == reason


def test_a_granted_make_up_replenishes_the_original(frames):
    make_up = python_make_up_key("missing")
    later = PAST_LAG + timedelta(days=1)
    plan = frames(PLAN + [plan_row(make_up, channel="", source="replenishment", replenishes="missing", day=PAST_LAG)],
                  PLAN_SCHEMA)  # fmt: skip
    grants = frames(GRANTS + [grant("g30", make_up, reported=later)], GRANTS_SCHEMA)
    items = classes(classify(plan, grants, frames(RECEIPTS, RECEIPTS_SCHEMA), frames([], PREVIOUS_SCHEMA), later))
    assert items["missing"] == "replenished" and items[make_up] == "ok"


REACHABLE = "one_id long, channel string, contact_ref string, timezone string"
RECENT = "one_id long, channel string, contact_date date"
CAPS = "channel string, max_contacts long, days long"
THREE_CHANNELS = [("camp", True, False, 100_000, 1, ["sms", "wecom", "app_push"])]


def test_failed_deliveries_are_resent_once_on_the_next_channel_the_person_can_take(frames):
    """Person 1 failed on sms: wecom is next but they have no WeCom contact, so app_push. Person 2 failed on sms
    and is at their app_push cap, so wecom. Person 3 is capped on both; person 4 failed on the last channel."""
    plan = frames([plan_row("p1", one_id=1), plan_row("p2", one_id=2), plan_row("p3", one_id=3),
                   plan_row("p4", channel="app_push", one_id=4), plan_row("ok", one_id=5)], PLAN_SCHEMA)  # fmt: skip
    receipts = frames([(k, ch, False, "isv.BLACK_KEY_CONTROL_LIMIT", ANSWERED)
                       for k, ch in (("p1", "sms"), ("p2", "sms"), ("p3", "sms"), ("p4", "app_push"))]
                      + [("ok", "sms", True, "DELIVERED", ANSWERED)], RECEIPTS_SCHEMA)  # fmt: skip
    # Computed once, as in the make-up test: the seven actions below all read it (the stage reads it back from Parquet).
    items = classify(plan, frames([], GRANTS_SCHEMA), receipts, frames([], PREVIOUS_SCHEMA), ANSWERED).localCheckpoint()
    reachable = frames([(1, "app_push", "reg-1", "Asia/Shanghai"), (2, "wecom", "wm-2", ""),
                        (2, "app_push", "reg-2", ""), (3, "wecom", "wm-3", ""), (3, "app_push", "reg-3", ""),
                        (5, "app_push", "reg-5", "")], REACHABLE)  # fmt: skip
    recent = frames([(2, "app_push", D), (3, "app_push", D), (3, "wecom", ANSWERED),
                     (3, "wecom", D - timedelta(days=30))], RECENT)  # fmt: skip
    caps = frames([("app_push", 1, 7), ("wecom", 1, 7)], CAPS)
    campaigns = frames(THREE_CHANNELS, CAMPAIGNS_SCHEMA)

    def resend(resent=(), blocked=(), campaign=campaigns):
        # the stage's way: the decisions computed once (a local checkpoint), then split into resends and refusals
        decided = resend_decisions(items, plan, frames([(k,) for k in resent], "contact_id string"), campaign,
                                   frames([(b,) for b in blocked], "one_id long"), reachable, recent, caps,
                                   ANSWERED).localCheckpoint()  # fmt: skip
        orders, refusals = split_resends(decided)
        return ({row.replenishes: row for row in orders.collect()},
                {row.contact_id: row.reason for row in refusals.collect()})  # fmt: skip

    orders, refusals = resend()
    assert {key: (row.channel, row.contact_ref) for key, row in orders.items()} == {
        "p1": ("app_push", "reg-1"),
        "p2": ("wecom", "wm-2"),
    }
    assert orders["p1"].contact_id == python_make_up_key("p1")  # the resend's own deterministic key
    assert refusals == {"p3": "frequency_cap", "p4": "no_fallback_channel"}
    # resent on an earlier night, a blocked person, an open breaker: never again / refused with the reason
    again, refused = resend(resent=("p1",), blocked=(2,))
    assert again == {} and refused["p2"] == "person_blocked"
    _, stopped = resend(campaign=frames([("camp", True, True, 100_000, 1, ["sms", "app_push"])], CAMPAIGNS_SCHEMA))
    assert set(stopped.values()) == {"circuit_open"}
    # only on the night the failure became known: a night later the same failures are not resent
    later = classify(plan, frames([], GRANTS_SCHEMA), receipts,
                     frames([(k, ANSWERED, ANSWERED) for k in ("p1", "p2", "p3", "p4", "ok")], PREVIOUS_SCHEMA),
                     ANSWERED + timedelta(days=1))  # fmt: skip
    none, _ = split_resends(resend_decisions(later, plan, frames([], "contact_id string"), campaigns,
                                             frames([], "one_id long"), reachable, recent, caps,
                                             ANSWERED + timedelta(days=1)))  # fmt: skip
    assert none.count() == 0


def test_loss_monitors_fire_on_crafted_cases_only(frames):
    plan, receipts = frames(PLAN, PLAN_SCHEMA), frames(RECEIPTS, RECEIPTS_SCHEMA)
    grants = frames(GRANTS, GRANTS_SCHEMA)
    # Computed once, as the stage reads them back from Parquet: the five monitor runs below each read it several times.
    items = classify(plan, grants, receipts, frames([], PREVIOUS_SCHEMA), ANSWERED).localCheckpoint()
    tight = frames([("camp", True, False, 4_000, 1, ["sms"])], CAMPAIGNS_SCHEMA)
    alerts = {row.monitor: row for row in loss_alerts(items, grants, tight, ANSWERED).collect()}
    assert alerts["unplanned_grant"].severity == "warning" and alerts["unplanned_grant"].keys == 2
    burst = loss_alerts(items, grants, tight, ANSWERED, Thresholds(unplanned_critical_keys=2)).collect()
    assert {row.monitor: row.severity for row in burst}["unplanned_grant"] == "critical"
    assert alerts["duplicate_grant"].severity == "warning" and alerts["duplicate_grant"].money_at_risk_fen == 500
    assert alerts["amount_mismatch"].money_at_risk_fen == 49_500
    assert alerts["budget"].severity == "critical"  # 54,000 fen granted against a 4,000 budget
    exact = frames([("camp", True, False, 54_000, 1, ["sms"])], CAMPAIGNS_SCHEMA)  # the whole budget, no more
    spent = {row.monitor: row.severity for row in loss_alerts(items, grants, exact, ANSWERED).collect()}
    assert spent["budget"] == "warning"
    assert alerts["user_cap"].severity == "warning" and alerts["user_cap"].keys == 1  # person 7: 9 grants, cap 1
    # a night later with no new grants: still over budget (warning), but nothing new trips the breaker again
    quiet = {
        row.monitor: row.severity for row in loss_alerts(items, grants, tight, ANSWERED + timedelta(days=1)).collect()
    }
    assert quiet["budget"] == "warning" and "user_cap" not in quiet

    clean_plan = frames([plan_row("ok")], PLAN_SCHEMA)
    clean_grants = frames([grant("g1", "ok", one_id=1)], GRANTS_SCHEMA)
    clean_items = classify(clean_plan, clean_grants, receipts, frames([], PREVIOUS_SCHEMA), ANSWERED)
    roomy = frames(CAMPAIGNS, CAMPAIGNS_SCHEMA)
    assert loss_alerts(clean_items, clean_grants, roomy, ANSWERED).count() == 0


def test_abnormal_peak_against_the_trailing_baseline(frames):
    before = [grant(f"b{i}", f"k{i}", reported=ANSWERED - timedelta(days=1), minute=i % 10) for i in range(20)]
    burst = [grant(f"p{i}", f"q{i}", minute=5) for i in range(30)]
    grants = frames(before + burst, GRANTS_SCHEMA)
    peaks = abnormal_peaks(grants, ANSWERED, Thresholds(peak_factor=5)).collect()
    assert [(row.campaign_id, row.keys) for row in peaks] == [("camp", 30)]  # 30 in a minute against 2 before
    assert abnormal_peaks(frames(burst, GRANTS_SCHEMA), ANSWERED).count() == 0  # no baseline, no verdict
