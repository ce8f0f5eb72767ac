"""Guard for the audience job's speed work: the decisions of a world where every step has work to do (history
against every cap, budgets that cut, sized and percent pilot samples, test accounts, prior spending) stay exactly
the ones pinned here, computed with the job as it was before its plan was reshaped (issue 14)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from bench import frame_checksum
from bench.synthetic.campaign_world import HISTORY_CAPPED_POLICY, every_step_plans, synthetic_history, synthetic_world
from spark_jobs.audience import audience_rows, campaign_frame, decide, exclusion_rows, spark_timezones

RUN_DATE = date(2026, 11, 20)
PEOPLE = 4_000
# audience rows, exclusion rows: "<rows>:<sum of xxhash64 of every column>" (bench.frame_checksum)
PINNED_AUDIENCE = "2451:91583445653163302920"
PINNED_EXCLUSIONS = "6027:154620650918302327840"


def test_audience_decisions_are_unchanged_in_a_world_that_exercises_every_step(spark):
    profile, membership, plans = synthetic_world(spark, PEOPLE)
    plans = every_step_plans(plans, PEOPLE)
    # members without a profile row (a segment built before the profile caught up)
    unknown = spark.range(PEOPLE + 1, PEOPLE + 51).selectExpr("'seg_01' AS segment", "id AS one_id")
    membership = membership.unionByName(unknown)
    history = synthetic_history(spark, PEOPLE, plans, RUN_DATE)
    campaigns = campaign_frame(spark, plans, HISTORY_CAPPED_POLICY, {"campaign_00": 500, "campaign_06": 100_000})
    decided = decide(membership, profile, history, campaigns, HISTORY_CAPPED_POLICY, RUN_DATE, spark_timezones(spark))
    reasons = Counter(row.reason for row in decided.select("reason").collect())
    audience = frame_checksum(audience_rows(decided, RUN_DATE))
    exclusions = frame_checksum(exclusion_rows(decided, RUN_DATE))
    every_reason = {
        None,
        "no_profile",
        "complaint",
        "blacklisted",
        "internal_test_account",
        "campaign_frequency_cap",
        "benefit_cap",
        "frequency_cap",
        "arbitration",
        "no_reachable_channel",
        "budget",
    }
    assert every_reason <= set(reasons), f"a step has nothing to decide: {reasons}"
    assert (audience, exclusions) == (PINNED_AUDIENCE, PINNED_EXCLUSIONS)
