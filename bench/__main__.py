"""Pipeline benchmark: generate a world at a chosen scale, run every stage once, print wall time and rows.

    python -m bench --users 100000            # whole nightly pipeline, one simulated day
    python -m bench --users 1000000 --stages ingest

Runs in a fresh installation under --home (default: a temporary directory) so it never touches your data.
Later capabilities add their own figures through `bench/<area>.py` modules listed in EXTRA_BENCHMARKS.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
BENCH_DATE = date(2026, 11, 20)


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000, help="people in the generated world")
    parser.add_argument("--stages", default="", help="comma-separated stages (default: all)")
    parser.add_argument("--home", type=Path, default=None, help="installation directory (default: temporary)")
    args = parser.parse_args(argv)

    home = args.home or Path(tempfile.mkdtemp(prefix="nightshift-bench-"))
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    from nightshift.pipeline import STAGES, run_stage, StageContext
    from nightshift.settings import get_settings

    settings = get_settings()
    table = Table("step", "wall time (s)", "rows", "rows/s", title=f"Nightshift bench: {args.users:,} users")

    started = time.perf_counter()
    from nightshift.generate import generate_world

    generate_world(settings.landing_dir, users=args.users, start_date=BENCH_DATE, days=1, seed=42, progress=True)
    generated = time.perf_counter() - started
    landing_lines = sum(
        sum(1 for _ in path.open("rb")) for path in settings.landing_dir.rglob("*") if path.is_file()
        and "_truth" not in path.parts
    )
    table.add_row("generate (1 day)", f"{generated:.1f}", f"{landing_lines:,}", f"{landing_lines / generated:,.0f}")

    ctx = StageContext(run_date=BENCH_DATE, settings=settings)
    wanted = [s.strip() for s in args.stages.split(",") if s.strip()] or list(STAGES)
    for stage in [s for s in STAGES if s in wanted]:
        result = run_stage(stage, BENCH_DATE, ctx=ctx)
        rows = sum(result.rows.values())
        rate = f"{rows / result.seconds:,.0f}" if result.seconds > 0 and rows else ""
        table.add_row(stage, f"{result.seconds:.1f}", f"{rows:,}", rate)
        console.print(f"  {stage:<10} {result.seconds:6.1f}s  {result.summary}")
    console.print(table)
    console.print(f"machine: {_machine()}; installation: {home}")


if __name__ == "__main__":
    main()
