"""Audience benchmark: campaign audiences for synthetic people, Spark steps vs a naive driver-side loop.

    python -m bench.audience --people 1000000,10000000 --segments 20 --campaigns 10 --history-days 10

Data is generated inside Spark and written to Parquet first, so the Spark figure is what the segments stage
pays: read profile + membership, run every step, write audience and exclusions. The naive approach is what one
might write without Spark: load everything into pandas on the driver and loop over campaigns in priority order
with Python sets (same suppression, arbitration, holdout and first-reachable-channel rules, no caps/budget); it
is skipped above NAIVE_LIMIT people because it would only measure swapping.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import frame_checksum, jvm_cpu_seconds, load_average, machine_description

NAIVE_LIMIT = 2_000_000
GOAL_SECONDS = 60
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


def bench_segments_stage(people: int, segments: int = 20, campaigns: int = 10, history_days: int = 10) -> dict:
    """Time the audience computation for `people` synthetic people with `history_days` nights of contact history
    and plans that give every step work (caps, budgets that cut, pilot samples); returns the figures."""
    os.environ.setdefault("NIGHTSHIFT_HOME", tempfile.mkdtemp(prefix="nightshift-bench-audience-"))
    from bench.synthetic.campaign_world import (
        HISTORY_CAPPED_POLICY,
        every_step_plans,
        synthetic_history,
        synthetic_world,
    )
    from nightshift.spark import get_spark
    from spark_jobs.audience import audience_rows, campaign_frame, decide, exclusion_rows, spark_timezones

    spark = get_spark("nightshift-bench-audience")
    work = Path(tempfile.mkdtemp(prefix="nightshift-bench-audience-data-"))
    profile, membership, plans = synthetic_world(spark, people, segments, campaigns)
    plans = every_step_plans(plans, people)
    started = time.perf_counter()
    profile.write.mode("overwrite").parquet(str(work / "profile"))
    membership.write.mode("overwrite").parquet(str(work / "membership"))
    synthetic_history(spark, people, plans, BENCH_DATE, history_days).write.mode("overwrite").parquet(
        str(work / "history")
    )
    generated = time.perf_counter() - started

    policy = HISTORY_CAPPED_POLICY
    load_before = load_average()
    cpu_before, started = jvm_cpu_seconds(spark), time.perf_counter()
    decided = decide(
        spark.read.parquet(str(work / "membership")),
        spark.read.parquet(str(work / "profile")),
        spark.read.parquet(str(work / "history")),
        campaign_frame(spark, plans, policy),
        policy,
        BENCH_DATE,
        spark_timezones(spark),
    )
    # What the audiences stage does: both outputs from one decided frame (decide() materialises it), as Parquet.
    audience_rows(decided, BENCH_DATE).write.mode("overwrite").parquet(str(work / "audience"))
    exclusion_rows(decided, BENCH_DATE).write.mode("overwrite").parquet(str(work / "exclusions"))
    spark_seconds = time.perf_counter() - started
    spark_cpu = jvm_cpu_seconds(spark) - cpu_before
    load_after = load_average()
    audience = spark.read.parquet(str(work / "audience"))
    exclusions = spark.read.parquet(str(work / "exclusions"))
    figures = {
        "people": people,
        "history_rows": spark.read.parquet(str(work / "history")).count(),
        "generate_s": generated,
        "spark_s": spark_seconds,
        "spark_cpu_s": spark_cpu,
        "audience_checksum": frame_checksum(audience),
        "exclusions_checksum": frame_checksum(exclusions),
        "load": f"{load_before.split()[0]} -> {load_after.split()[0]}",
    }
    if people <= NAIVE_LIMIT:
        started = time.perf_counter()
        figures["naive_people"] = _naive(str(work / "profile"), str(work / "membership"), plans)
        figures["naive_s"] = time.perf_counter() - started
        figures["naive_load"] = load_average()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", default="1000000,10000000", help="comma-separated scales (default 1M and 10M)")
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--history-days", type=int, default=10, help="nights of contact history before the run")
    args = parser.parse_args(argv)
    console = Console(width=160)
    console.print(f"machine: {machine_description()}; Spark local[2]; goal: 10M people in under {GOAL_SECONDS} s")
    table = Table(title=f"campaign audiences: {args.segments} segments, {args.campaigns} campaigns, every step")
    for column in (
        "people",
        "history rows",
        "Spark s (wall)",
        "JVM CPU s",
        "naive loop s",
        "naive / Spark",
        "load (1 min) before -> after",
    ):
        table.add_column(column, justify="right")
    checksums = []
    for people in [int(scale) for scale in args.people.split(",") if scale.strip()]:
        figures = bench_segments_stage(people, args.segments, args.campaigns, args.history_days)
        naive = figures.get("naive_s")
        table.add_row(
            f"{people:,}",
            f"{figures['history_rows']:,}",
            f"{figures['spark_s']:.1f}",
            f"{figures['spark_cpu_s']:.1f}",
            f"{naive:.1f}" if naive else f"skipped above {NAIVE_LIMIT:,}",
            f"{naive / figures['spark_s']:.2f}" if naive else "",
            figures["load"],
        )
        checksums.append(
            f"{people:,} people: audience {figures['audience_checksum']}, exclusions {figures['exclusions_checksum']}"
        )
    console.print(table)
    console.print("checksums (<rows>:<sum of xxhash64 over every column>), equal before and after a change:")
    for line in checksums:
        console.print(f"  {line}")


if __name__ == "__main__":
    main()
