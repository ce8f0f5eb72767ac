"""Pipeline benchmark: generate a world at a chosen scale, run every stage once, print wall time and rows.

    python -m bench --users 100000            # whole nightly pipeline, one simulated day
    python -m bench --users 1000000 --stages ingest

Runs in a fresh installation under --home (default: a temporary directory) so it never touches your data.
Then every area benchmark in AREA_BENCHMARKS runs in its own process (the embedded engine opens one warehouse
directory per process) at its own default scales; `--areas` picks some, `--areas pipeline` only this one:

    python -m bench --users 100000 --areas identity,tags

A scale the generator cannot reach in one process (10M people) is run from a smaller real world whose raw tables
are copied after ingestion (bench/replicated_world.py; generation and ingestion then run at the base scale):

    python -m bench --users 10000000 --base-users 1000000 --areas pipeline
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import load_average, machine_description, machine_memory_bytes, quiet_dbt

console = Console()
BENCH_DATE = date(2026, 11, 20)
# The generator holds a day of the world in memory: 4.1 GB resident at 1M people, and 22.7 GB when 10M failed
# (2026-12-07). It gets at most this share of the machine's memory; the embedded engine needs the rest.
GENERATION_GB_PER_MILLION_PEOPLE = 2.3
GENERATION_MEMORY_SHARE = 0.8
# Area benchmark -> what it measures; each is `python -m bench.<area>` with its own scales and arguments.
AREA_BENCHMARKS = {
    "ingest": "ingestion throughput, records per second on a 1M-line app events file",
    "identity": "identity resolution, edges per second",
    "tags": "tag_bitmaps from a synthetic user_tags at 1M and 10M people, bitmap vs long-table segment",
    "profile_build": "whole tag and profile build (user_profile, user_tags, tag_bitmaps) at 1M and 10M people, "
    "from a real 100k world replicated",
    "segments": "segment preview latency, bitmaps vs naive queries, and a cold rule preview after a night",
    "lookalike": "lookalike expansion on a generated world: precision at N and lift recovering a planted group",
    "audience": "whole segments stage (20 segments, 10 campaigns), Spark vs naive",
    "reconcile": "reconciliation of 1M planned keys against the ledger and receipts, Spark vs one ClickHouse query",
    "deliveries": "channel writers, rows per second at 1M rows against the 1M rows/s goal",
    "delivery_api": "deliver stage through the channel simulator: messages/s with limits lifted, busiest second at "
    "the limits",
    "shortlinks": "short codes per second (encode, strict decode) and redirects per second through the service",
}


def main(argv: list[str] | None = None) -> None:
    quiet_dbt()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="people in the generated world")
    parser.add_argument("--stages", default="", help="comma-separated stages (default: all)")
    parser.add_argument(
        "--base-users",
        type=int,
        default=None,
        help="generate and ingest this many people, then copy their raw tables to --users people before the other "
        "stages (bench/replicated_world.py; default: generate --users people)",
    )
    parser.add_argument("--home", type=Path, default=None, help="installation directory (default: temporary)")
    parser.add_argument(
        "--areas",
        default=",".join(["pipeline", *AREA_BENCHMARKS]),
        help=f"comma-separated: pipeline and/or {', '.join(AREA_BENCHMARKS)} (default: all)",
    )
    args = parser.parse_args(argv)
    if args.base_users is not None and not 0 < args.base_users <= args.users:
        parser.error(f"--base-users must be between 1 and --users ({args.users:,}); got {args.base_users:,}")
    areas = [area.strip() for area in args.areas.split(",") if area.strip()]
    unknown = sorted(set(areas) - {"pipeline", *AREA_BENCHMARKS})
    if unknown:
        parser.error(f"unknown area(s) {', '.join(unknown)}; choose from pipeline, {', '.join(AREA_BENCHMARKS)}")
    if "pipeline" in areas:
        bench_pipeline(args)
    for area in [area for area in AREA_BENCHMARKS if area in areas]:
        console.rule(f"bench.{area}: {AREA_BENCHMARKS[area]}")
        completed = subprocess.run([sys.executable, "-m", f"bench.{area}"], check=False)
        if completed.returncode != 0:
            console.print(f"[red]bench.{area} failed with exit code {completed.returncode}[/]")


def bench_pipeline(args: argparse.Namespace) -> None:

    home = args.home or Path(tempfile.mkdtemp(prefix="nightshift-bench-"))
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    from nightshift.pipeline import STAGES, run_stage
    from nightshift.settings import get_settings
    from nightshift.stages.context import StageContext

    settings = get_settings()

    generated_users = args.base_users or args.users
    copies = round(args.users / generated_users) if args.base_users else 1
    _check_generation_fits(generated_users)
    people = generated_users * copies  # round(users / base users) copies: what the stages after ingest run on
    table = Table("step", "wall time (s)", "rows", "rows/s", "load avg", title=f"Nightshift bench: {people:,} users")
    started = time.perf_counter()
    from nightshift.generate import generate_world

    generate_world(settings.landing_dir, users=generated_users, start_date=BENCH_DATE, days=1, seed=42, progress=True)
    generated = time.perf_counter() - started
    landing_lines = sum(
        sum(1 for _ in path.open("rb"))
        for path in settings.landing_dir.rglob("*")
        if path.is_file() and "_truth" not in path.parts
    )
    table.add_row(
        "generate (1 day)" if copies == 1 else f"generate (1 day, {generated_users:,} people)",
        f"{generated:.1f}",
        f"{landing_lines:,}",
        f"{landing_lines / generated:,.0f}",
        load_average(),
    )

    ctx = StageContext(run_date=BENCH_DATE, settings=settings)
    wanted = [s.strip() for s in args.stages.split(",") if s.strip()] or list(STAGES)
    night_seconds = 0.0
    for stage in [s for s in STAGES if s in wanted]:
        result = run_stage(stage, BENCH_DATE, ctx=ctx)
        night_seconds += result.seconds
        rows = sum(result.rows.values())
        rate = f"{rows / result.seconds:,.0f}" if result.seconds > 0 and rows else ""
        label = f"{stage} ({generated_users:,} people)" if copies > 1 and stage == "ingest" else stage
        table.add_row(label, f"{result.seconds:.1f}", f"{rows:,}", rate, load_average())
        console.print(f"  {stage:<10} {result.seconds:6.1f}s  {result.summary}")
        if copies > 1 and stage == "ingest":
            replicate_row = _replicate_raw(ctx.client, copies)
            table.add_row(*replicate_row, load_average())
    table.add_section()
    night = "night (stages, without generation)" if copies == 1 else "night (stages, without generation and copies)"
    table.add_row(night, f"{night_seconds:.1f}", "", "", load_average())
    console.print(table)
    console.print(f"machine: {machine_description()}; installation: {home}")


def _check_generation_fits(users: int) -> None:
    """Refuse, before minutes of work, a world the generator would not get through in this machine's memory."""
    memory_gb = machine_memory_bytes() / 1e9
    needed_gb = users / 1e6 * GENERATION_GB_PER_MILLION_PEOPLE
    if needed_gb > GENERATION_MEMORY_SHARE * memory_gb:
        fits = int(GENERATION_MEMORY_SHARE * memory_gb / GENERATION_GB_PER_MILLION_PEOPLE) * 1_000_000
        raise SystemExit(
            f"generating {users:,} people needs about {needed_gb:.0f} GB in one process and this machine has "
            f"{memory_gb:.0f} GB: generate fewer and copy them, e.g. `--base-users {min(fits, 1_000_000):,}` "
            "(bench/replicated_world.py)"
        )


def _replicate_raw(client, copies: int) -> list[str]:
    """Copy the ingested raw tables `copies` times; the table row that says so (without its load)."""
    from bench.replicated_world import COPY_NOTE, replicate_raw_tables

    seconds, rows, not_applied = replicate_raw_tables(client, copies)
    console.print(f"  raw tables copied {copies} times ({COPY_NOTE}): {len(rows)} tables, {sum(rows.values()):,} rows")
    for pattern in not_applied:
        console.print(f"  [yellow]blocklist pattern not applied to the copies (the engine cannot run it): {pattern}[/]")
    total = sum(rows.values())
    return [f"copy raw tables x{copies}", f"{seconds:.1f}", f"{total:,}", f"{total / seconds:,.0f}"]


if __name__ == "__main__":
    main()
