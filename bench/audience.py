"""Audience benchmark: campaign audiences for synthetic people, Spark steps vs a naive driver-side loop.

    python -m bench.audience --people 1000000 --segments 20 --campaigns 10

Data is generated inside Spark and written to Parquet first, so the Spark figure is what the segments stage
pays: read profile + membership, run every step, write audience and exclusions. The naive approach is what one
might write without Spark: load everything into pandas on the driver and loop over campaigns in priority order
with Python sets (same suppression, arbitration, holdout and first-reachable-channel rules, no caps/budget); it
is skipped above NAIVE_LIMIT people because it would only measure swapping.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from datetime import date
from pathlib import Path

NAIVE_LIMIT = 2_000_000
BENCH_DATE = date(2026, 11, 20)


def _naive(profile_path: str, membership_path: str, plans) -> int:
    """Driver-side pandas + Python loop; returns the number of people assigned to a campaign."""
    import pandas as pd

    profile = pd.read_parquet(profile_path).set_index("one_id")
    membership = pd.read_parquet(membership_path)
    members = membership.groupby("segment")["one_id"].apply(set).to_dict()
    suppressed = set(profile.index[(profile.has_complaint == 1) | (profile.is_blacklisted == 1)])
    suppressed |= set(profile.index[profile.is_internal_test_account == 1])
    assigned: set[int] = set()
    rows = 0
    for plan in sorted(plans, key=lambda p: (-p.priority, p.id)):
        wanted = set().union(*(members.get(s, set()) for s in plan.include_segments))
        wanted -= set().union(*(members.get(s, set()) for s in plan.exclude_segments))
        wanted -= suppressed | assigned
        for one_id in sorted(wanted):
            person = profile.loc[one_id]
            draw = int.from_bytes(hashlib.blake2b(f"{one_id}:{plan.experiment.salt}".encode(), digest_size=8).digest())
            holdout = draw / 2**64 < plan.experiment.holdout_share
            reachable = [c for c in plan.channels if person[f"can_receive_{c}"] == 1]
            if reachable or holdout:
                assigned.add(one_id)
                rows += 1
    return rows


def bench_segments_stage(people: int, segments: int = 20, campaigns: int = 10) -> dict[str, float]:
    """Time the audience computation for `people` synthetic people; prints and returns the figures."""
    import os

    os.environ.setdefault("NIGHTSHIFT_HOME", tempfile.mkdtemp(prefix="nightshift-bench-audience-"))
    from pyspark.sql import functions as F

    from bench.synthetic.campaign_world import DEFAULT_POLICY, synthetic_world
    from nightshift.spark import get_spark
    from spark_jobs.audience import (
        HISTORY_SCHEMA,
        audience_rows,
        campaign_frame,
        decide,
        exclusion_rows,
        spark_timezones,
    )

    spark = get_spark("nightshift-bench-audience")
    work = Path(tempfile.mkdtemp(prefix="nightshift-bench-audience-data-"))
    profile, membership, plans = synthetic_world(spark, people, segments, campaigns)
    started = time.perf_counter()
    profile.write.mode("overwrite").parquet(str(work / "profile"))
    membership.write.mode("overwrite").parquet(str(work / "membership"))
    generated = time.perf_counter() - started

    started = time.perf_counter()
    policy = DEFAULT_POLICY
    campaign_params = campaign_frame(spark, plans, policy)
    history = spark.createDataFrame([], HISTORY_SCHEMA)
    decided = decide(
        spark.read.parquet(str(work / "membership")),
        spark.read.parquet(str(work / "profile")),
        history,
        campaign_params,
        policy,
        BENCH_DATE,
        spark_timezones(spark),
    ).cache()
    audience_rows(decided, BENCH_DATE).write.mode("overwrite").parquet(str(work / "audience"))
    exclusion_rows(decided, BENCH_DATE).write.mode("overwrite").parquet(str(work / "exclusions"))
    spark_seconds = time.perf_counter() - started
    audience = decided.where(F.col("reason").isNull()).count()
    pairs = decided.count()
    decided.unpersist()

    figures = {
        "people": people,
        "pairs": pairs,
        "audience": audience,
        "generate_s": generated,
        "spark_s": spark_seconds,
    }
    print(f"people {people:,}, segments {segments}, campaigns {campaigns}: {pairs:,} (campaign, person) pairs")
    print(f"  generate + write Parquet   {generated:8.1f} s")
    print(f"  Spark audiences (all steps, read + write) {spark_seconds:8.1f} s -> {audience:,} audience rows")
    if people <= NAIVE_LIMIT:
        started = time.perf_counter()
        naive_rows = _naive(str(work / "profile"), str(work / "membership"), plans)
        figures["naive_s"] = time.perf_counter() - started
        print(f"  naive pandas/Python loop (fewer rules)    {figures['naive_s']:8.1f} s -> {naive_rows:,} people")
    else:
        print(f"  naive loop skipped above {NAIVE_LIMIT:,} people")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--campaigns", type=int, default=10)
    args = parser.parse_args(argv)
    bench_segments_stage(args.people, args.segments, args.campaigns)


if __name__ == "__main__":
    main()
