"""The audience steps of spark_jobs/audience.py on small synthetic profiles, memberships and plans."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from bench.synthetic.campaign_world import DEFAULT_POLICY, address, plan, profile_frame, profile_row
from nightshift.campaigns.contact_id import contact_id
from spark_jobs.audience import (
    BUDGET,
    HISTORY_SCHEMA,
    apply_budget,
    assign_variants,
    audience_rows,
    campaign_frame,
    decide,
    exclusion_rows,
    spark_timezones,
    uniform_draw,
)

RUN_DATE = date(2026, 11, 20)  # a Friday


@pytest.fixture(scope="module")
def zones(spark):
    return spark_timezones(spark)


def run(spark, zones, profile_rows, members, plans, policy=DEFAULT_POLICY, history=(), run_date=RUN_DATE, spent=None):
    """Decide every (campaign, person) pair; returns (audience rows, exclusion rows) as lists of dicts."""
    membership = spark.createDataFrame(members, "segment string, one_id long")
    history_frame = spark.createDataFrame(list(history), HISTORY_SCHEMA)
    campaigns = campaign_frame(spark, plans, policy, spent)
    decided = decide(membership, profile_frame(spark, profile_rows), history_frame, campaigns, policy, run_date, zones)
    decided = decided.cache()
    audience = [row.asDict() for row in audience_rows(decided, run_date).collect()]
    excluded = [row.asDict() for row in exclusion_rows(decided, run_date).collect()]
    decided.unpersist()
    return audience, excluded


def by_id(rows: list[dict], campaign_id: str = "c1") -> dict[int, dict]:
    return {row["one_id"]: row for row in rows if row["campaign_id"] == campaign_id}


NO_HOLDOUT = {"salt": "n", "holdout_share": 0.0, "variants": [{"name": "a", "weight": 1.0}]}
YESTERDAY = RUN_DATE - timedelta(days=1)


@pytest.fixture(scope="module")
def scenario(spark, zones):
    """One run over disjoint groups of people, one group (and campaign) per behaviour under test.

    Deciding everything in one Spark run keeps the module fast; groups share no people, except where a test
    is about people in several campaigns (arbitration, internal test accounts).
    """
    people = [
        # opt: channel opt-outs
        profile_row(1),
        profile_row(2, reachable=("app_push",)),  # no sms consent -> app push
        profile_row(3, is_sms_unsubscribed=1),  # unsubscribed from sms -> app push
        profile_row(4, reachable=("sms",), is_sms_unsubscribed=1),  # only sms, unsubscribed -> nobody
        profile_row(5, reachable=("wecom",)),  # reachable, not on this plan's channels
        # hold: 30% holdout with a benefit
        *[profile_row(i) for i in range(101, 501)],
        # supp: suppression and benefit cap; 606 has no profile row
        profile_row(601),
        profile_row(602, has_complaint=1),
        profile_row(603, is_blacklisted=1),
        profile_row(604, is_internal_test_account=1),
        profile_row(605),
        # time: send windows in local time
        profile_row(701, timezone="Asia/Shanghai"),
        profile_row(702, timezone="America/New_York"),
        profile_row(703, timezone=""),
        profile_row(704, timezone="Not/AZone"),
        # arbitration
        profile_row(801),
        profile_row(802, reachable=("wecom",)),  # only arb_low can reach them
        profile_row(803, reachable=("sms",)),  # sms capped by history -> nobody
        profile_row(804, reachable=("sms", "wecom")),  # sms capped: arb_low by wecom
        profile_row(805),
        # budget
        *[profile_row(i, reachable=("app_push",)) for i in range(901, 911)],
        *[profile_row(i) for i in range(951, 956)],
    ]
    members = [("s_opt", i) for i in range(1, 6)]
    members += [("s_hold", i) for i in range(101, 501)] + [("x_hold", i) for i in range(101, 111)]
    members += [("s_supp", i) for i in range(601, 607)] + [("s_internal", 604)]
    members += [("s_time", i) for i in range(701, 705)]
    members += [("s_arb", i) for i in range(801, 805)] + [("s_tie", 801), ("s_tie", 805)]
    members += [("s_budget", i) for i in range(901, 911)] + [("s_gone", i) for i in range(951, 956)]
    plans = [
        plan(id="opt", include_segments=["s_opt"], experiment=NO_HOLDOUT),
        plan(
            id="hold",
            include_segments=["s_hold"],
            exclude_segments=["x_hold"],
            benefit={"id": "coupon", "unit_cost_fen": 500},
            experiment={"salt": "h", "holdout_share": 0.3, "variants": [{"name": "a", "weight": 1.0}]},
        ),
        plan(
            id="supp",
            include_segments=["s_supp"],
            benefit={"id": "gift", "unit_cost_fen": 1, "per_user_cap": 1},
            experiment=NO_HOLDOUT,
        ),
        plan(id="internal_ok", include_segments=["s_internal"], allow_internal_test_accounts=True, priority=1),
        plan(
            id="time",
            include_segments=["s_time"],
            send_window={"start": "07:30", "end": "12:00"},  # quiet hours end at 09:00
            experiment=NO_HOLDOUT,
        ),
        plan(id="arb_high", include_segments=["s_arb"], priority=9, channels=["sms"], experiment=NO_HOLDOUT),
        plan(id="arb_low", include_segments=["s_arb"], priority=1, channels=["sms", "wecom"], experiment=NO_HOLDOUT),
        plan(id="tie_b", include_segments=["s_tie"], priority=5, experiment=NO_HOLDOUT),
        plan(id="tie_a", include_segments=["s_tie"], priority=5, experiment=NO_HOLDOUT),
        plan(
            id="budget",
            include_segments=["s_budget"],
            channels=["app_push"],
            benefit={"id": "coupon_b", "unit_cost_fen": 100, "per_user_cap": 5},
            budget_fen=550,
            experiment=NO_HOLDOUT,
        ),
        plan(
            id="gone",
            include_segments=["s_gone"],
            benefit={"id": "coupon_g", "unit_cost_fen": 100},
            budget_fen=600,
            experiment=NO_HOLDOUT,
        ),
    ]
    history = [(RUN_DATE - timedelta(days=40), "supp", 605, "sms", "gift")]
    history += [(YESTERDAY, "old", i, "sms", "") for i in (803, 804) for _ in range(2)]
    # people 901-905 were contacted recently: the budget score puts the least-contacted first
    history += [(RUN_DATE - timedelta(days=2), "other", i, "app_push", "") for i in range(901, 906)]
    audience, excluded = run(spark, zones, people, members, plans, history=history, spent={"budget": 200, "gone": 600})
    return {"members": members, "plans": plans, "audience": audience, "excluded": excluded}


def reasons_of(scenario, campaign_id: str) -> dict[int, str]:
    return {row["one_id"]: row["reason"] for row in scenario["excluded"] if row["campaign_id"] == campaign_id}


def test_opted_out_people_are_never_assigned_to_that_channel(scenario):
    audience = by_id(scenario["audience"], "opt")
    assert {i: row["channel"] for i, row in audience.items()} == {1: "sms", 2: "app_push", 3: "app_push"}
    assert audience[2]["contact_ref"] == address("app_push", 2) == "app-2"  # the app_user_id push goes to
    assert audience[1]["contact_ref"] == address("sms", 1) == "+8613800000001"
    assert reasons_of(scenario, "opt") == {4: "no_reachable_channel", 5: "no_reachable_channel"}
    unsubscribed = {3, 4}
    assert not [row for row in scenario["audience"] if row["channel"] == "sms" and row["one_id"] in unsubscribed]


def test_holdout_is_recorded_without_channel_contact_or_cost(scenario):
    rows = list(by_id(scenario["audience"], "hold").values())
    holdout = [row for row in rows if row["variant"] == "holdout"]
    treated = [row for row in rows if row["variant"] != "holdout"]
    assert 70 < len(holdout) < 150  # 30% of 390, within 4 sigma
    assert all(row["channel"] == "" and row["contact_ref"] == "" and row["cost_fen"] == 0 for row in holdout)
    assert all(row["channel"] == "sms" and row["cost_fen"] == 500 for row in treated)


def test_every_audience_row_carries_its_contact_id(scenario):
    rows = scenario["audience"]
    assert rows and all(
        row["contact_id"] == contact_id(row["campaign_id"], row["run_date"], row["one_id"], row["channel"])
        for row in rows
    )
    assert len({row["contact_id"] for row in rows}) == len(rows)


def test_every_candidate_ends_in_exactly_one_audience_or_exclusion_row(scenario):
    included: dict[str, set[int]] = {}
    for segment, one_id in scenario["members"]:
        included.setdefault(segment, set()).add(one_id)
    expected = set()
    for campaign in scenario["plans"]:
        people = set().union(*(included.get(s, set()) for s in campaign.include_segments))
        people -= set().union(*(included.get(s, set()) for s in campaign.exclude_segments))
        expected |= {(campaign.id, one_id) for one_id in people}
    decided = [(row["campaign_id"], row["one_id"]) for row in scenario["audience"] + scenario["excluded"]]
    assert len(decided) == len(set(decided)), "a pair was decided twice"
    assert set(decided) == expected
    assert not any(one_id in range(101, 111) for campaign, one_id in decided if campaign == "hold")


def test_suppression_reasons_benefit_cap_and_internal_test_accounts(scenario):
    assert list(by_id(scenario["audience"], "supp")) == [601]
    assert reasons_of(scenario, "supp") == {
        602: "complaint",
        603: "blacklisted",
        604: "internal_test_account",
        605: "benefit_cap",
        606: "no_profile",
    }
    assert list(by_id(scenario["audience"], "internal_ok")) == [604]  # only where the plan allows it


def test_send_time_is_in_the_window_outside_quiet_hours_in_local_time(scenario):
    send_at = {i: row["send_at"] for i, row in by_id(scenario["audience"], "time").items()}
    assert send_at[701] == datetime(2026, 11, 20, 1, 0)  # 09:00 in Shanghai (UTC+8)
    assert send_at[702] == datetime(2026, 11, 20, 14, 0)  # 09:00 in New York (UTC-5 in November)
    assert send_at[703] == send_at[704] == send_at[701]  # empty or unknown zone: the policy default


def test_arbitration_prefers_reachable_then_priority_then_campaign_id(scenario):
    arbitrated = {"arb_high", "arb_low", "tie_a", "tie_b"}
    assert {
        (r["campaign_id"], r["one_id"], r["channel"]) for r in scenario["audience"] if r["campaign_id"] in arbitrated
    } == {
        ("arb_high", 801, "sms"),
        ("arb_low", 802, "wecom"),
        ("arb_low", 804, "wecom"),
        ("tie_a", 805, "sms"),  # same priority as tie_b: campaign id decides
    }
    high, low = reasons_of(scenario, "arb_high"), reasons_of(scenario, "arb_low")
    assert low[801] == reasons_of(scenario, "tie_a")[801] == reasons_of(scenario, "tie_b")[801] == "arbitration"
    assert high[802] == "arbitration"  # lost to the campaign that can reach them
    assert high[803] == low[803] == "frequency_cap"  # sms capped, nothing else open
    assert high[804] == "frequency_cap"
    assert reasons_of(scenario, "tie_b")[805] == "arbitration"


def test_budget_keeps_the_best_scored_people_after_earlier_spending(scenario):
    kept = by_id(scenario["audience"], "budget")
    # 550 budget - 200 spent on earlier dates = 350 -> three 100-fen coupons
    assert len(kept) == 3 and sum(row["cost_fen"] for row in kept.values()) == 300
    assert set(kept) <= set(range(906, 911))  # never contacted recently: best budget score
    assert Counter(reasons_of(scenario, "budget").values()) == {"budget": 7}
    assert by_id(scenario["audience"], "gone") == {}  # budget already spent
    assert Counter(reasons_of(scenario, "gone").values()) == {"budget": 5}


def test_budget_cut_is_the_running_total_rule_on_every_pair(spark):
    """The budget cuts at its last paid treated person; that equals the documented rule, checked here row by row:
    in score order (recent contacts, draw, one_id) a pair still in is cut when the treated cost before it plus one
    unit exceeds the remaining budget. Campaigns: one that pays for nobody, ties on recent contacts, holdout and
    already excluded pairs mixed in, one that fits and one without a budget."""
    import random

    draw = random.Random(14)
    budgets = {"none_left": (0, 100), "cuts": (2_150, 100), "cuts_big_units": (900, 300), "fits": (10**9, 100),
               "unlimited": (None, 100)}  # fmt: skip
    rows = []
    for campaign, (remaining, unit) in budgets.items():
        for one_id in range(1, 401):
            reason = "arbitration" if draw.random() < 0.15 else None
            variant = "holdout" if draw.random() < 0.1 else "a"
            recent = draw.choice([None, 0, 1, 2])
            rows.append((campaign, one_id, reason, variant, f"salt-{campaign}", unit, remaining, recent))
    frame = spark.createDataFrame(
        rows,
        "campaign_id string, one_id long, reason string, variant string, salt string, unit_cost_fen long, "
        "remaining_budget_fen long, recent_contacts long",
    ).withColumn("draw", uniform_draw(F.col("one_id"), F.col("salt"), "budget"))
    decided = {(row.campaign_id, row.one_id): row for row in apply_budget(frame).collect()}

    expected = {}
    for campaign, (remaining, unit) in budgets.items():
        # the pairs still in before the budget: those it kept or cut
        mine = [row for row in decided.values() if row.campaign_id == campaign and row.reason in (None, BUDGET)]
        still_in = sorted(mine, key=lambda row: (row.recent_contacts or 0, row.draw, row.one_id))
        spent = 0
        for row in still_in:
            over = remaining is not None and spent + unit > remaining
            expected[(campaign, row.one_id)] = BUDGET if over else None
            if not over and row.variant != "holdout":
                spent += unit
    for key, row in decided.items():
        paid = row.reason is None and row.variant != "holdout"
        assert row.cost_fen == (budgets[row.campaign_id][1] if paid else 0), (key, row)
        assert row.reason == expected.get(key, "arbitration"), (key, row)
    cut = Counter(key[0] for key, reason in expected.items() if reason == BUDGET)
    assert cut["none_left"] > 300 and 0 < cut["cuts"] < 400 and 0 < cut["cuts_big_units"] < 400, cut
    assert cut["fits"] == 0 and cut["unlimited"] == 0, cut


def test_frequency_caps_hold_over_consecutive_days(spark, zones):
    """Four days in a row, each day's sends become the next day's history; no rolling window breaks a cap."""
    policy = DEFAULT_POLICY.model_copy(
        update={
            "frequency_caps": {
                "sms": DEFAULT_POLICY.frequency_caps["sms"].model_copy(update={"max_contacts": 2, "days": 3})
            }
        }
    )
    people = [profile_row(i, reachable=("sms",)) for i in range(1, 41)]
    no_holdout = {"salt": "f", "holdout_share": 0.0, "variants": [{"name": "a", "weight": 1.0}]}
    plans = [
        plan(id="daily", experiment=no_holdout, priority=1),
        plan(
            id="capped",
            experiment=no_holdout,
            priority=2,
            include_segments=["s2"],
            frequency_cap={"max_contacts": 1, "days": 4},
        ),
    ]
    members = [("s1", i) for i in range(1, 41)] + [("s2", i) for i in range(1, 11)]
    history: list[tuple] = []
    for day in range(4):
        run_date = RUN_DATE + timedelta(days=day)
        audience, excluded = run(spark, zones, people, members, plans, policy, history, run_date)
        assert len(audience) + len(excluded) == 50
        history += [
            (row["run_date"], row["campaign_id"], row["one_id"], row["channel"], row["benefit_id"]) for row in audience
        ]
    sends = Counter((row[0], row[2]) for row in history)
    assert max(sends.values()) == 1, "arbitration allows one campaign per person per day"
    for person in range(1, 41):
        days = sorted(run_date for run_date, one_id in sends if one_id == person)
        for start in days:
            in_window = [d for d in days if start <= d < start + timedelta(days=3)]
            assert len(in_window) <= 2, f"person {person} got {len(in_window)} sms within 3 days"
        assert days, "capped people come back once the window has passed"
    capped = Counter(row[2] for row in history if row[1] == "capped")
    for person in range(1, 11):
        days = sorted(row[0] for row in history if row[1] == "capped" and row[2] == person)
        assert all(b - a >= timedelta(days=4) for a, b in zip(days, days[1:], strict=False))
    assert sum(capped.values()) >= 10


def _variants(spark, ids: range, experiment: dict) -> dict[int, str]:
    """Variant per id from `assign_variants`, for a campaign of the given experiment (no other step involved)."""
    campaigns = campaign_frame(spark, [plan(experiment=experiment)], DEFAULT_POLICY)
    frame = (
        spark.range(ids.start, ids.stop)
        .withColumnRenamed("id", "one_id")
        .crossJoin(campaigns)
        .withColumn("reason", F.lit(None).cast("string"))
    )
    return {row.one_id: row.variant for row in assign_variants(frame).select("one_id", "variant").collect()}


def test_variants_are_stable_across_days_and_sizes_and_follow_the_weights(spark):
    experiment = {
        "salt": "ab-2026",
        "holdout_share": 0.1,
        "variants": [{"name": "a", "weight": 0.2}, {"name": "b", "weight": 0.3}, {"name": "c", "weight": 0.5}],
    }
    n = 20_000
    first = _variants(spark, range(1, n + 1), experiment)
    counts = Counter(first.values())
    expected = {"holdout": 0.1 * n, "a": 0.18 * n, "b": 0.27 * n, "c": 0.45 * n}
    chi_square = sum((counts[name] - e) ** 2 / e for name, e in expected.items())
    assert chi_square < 16.27, f"chi-square {chi_square:.1f} (3 dof, p=0.001) for counts {counts}"

    # the draw depends on nothing but id and salt: a smaller audience (any day) keeps everyone's variant
    later = _variants(spark, range(15_001, 17_001), experiment)
    assert all(first[one_id] == variant for one_id, variant in later.items())
    reshuffled = _variants(spark, range(1, 2001), {**experiment, "salt": "other"})
    assert sum(first[one_id] != variant for one_id, variant in reshuffled.items()) > 500


def test_variant_is_the_same_on_another_day_end_to_end(spark, zones, scenario):
    day1 = {i: row["variant"] for i, row in by_id(scenario["audience"], "hold").items()}
    people = [profile_row(i) for i in range(201, 321)]
    hold = next(p for p in scenario["plans"] if p.id == "hold")
    day2, _ = run(
        spark, zones, people, [("s_hold", i) for i in range(201, 321)], [hold], run_date=RUN_DATE + timedelta(days=9)
    )
    assert {row["one_id"]: row["variant"] for row in day2} == {i: v for i, v in day1.items() if 201 <= i < 321}


def test_uniform_draw_is_in_unit_interval_and_deterministic(spark):
    frame = spark.range(0, 5000).select(uniform_draw(F.col("id"), F.lit("salt")).alias("u"))
    stats = frame.agg(F.min("u"), F.max("u"), F.avg("u")).first()
    assert stats[0] >= 0 and stats[1] < 1 and abs(stats[2] - 0.5) < 0.02
    assert frame.collect() == frame.collect()


def test_exclusions_keep_the_persons_arm_and_the_channel_they_would_have_had(scenario):
    excluded = {(row["campaign_id"], row["one_id"]): row for row in scenario["excluded"]}
    # no holdout in these plans: every person left out is in the single variant, whatever step removed them
    assert {excluded[("supp", i)]["variant"] for i in range(602, 607)} == {"a"}
    # 4: only sms, unsubscribed; 5: reachable on wecom only, not a channel of the plan -> no channel open
    assert excluded[("opt", 4)]["channel"] == excluded[("opt", 5)]["channel"] == ""
    # arb_low lost 801 to a higher priority: sms was still open to them
    assert excluded[("arb_low", 801)]["channel"] == "sms"
    # 803: sms closed by its frequency cap, nothing left open
    assert excluded[("arb_high", 803)]["channel"] == ""
    assert {excluded[("budget", i)]["channel"] for i in range(901, 911) if ("budget", i) in excluded} == {"app_push"}
    # the holdout campaign: the arm of a person left out is the arm their draw gives them on any day
    audience_arms = {row["variant"] for row in by_id(scenario["audience"], "hold").values()}
    assert audience_arms == {"a", "holdout"}
    assert all(row["variant"] in {"a", "holdout"} for row in scenario["excluded"] if row["campaign_id"] == "hold")
