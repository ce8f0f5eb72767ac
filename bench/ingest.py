"""Measure ingestion throughput on a synthetic JSON-lines file: `python -m bench.ingest [LINES]` (default 1M).

Uses the declared `app.events` shape, a scratch NIGHTSHIFT_HOME (its own embedded warehouse) and prints
records per second end to end (file read, validation, raw + quarantine write, registry and summary).
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH_DAY = date(2026, 11, 21)


def write_events(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    events = ("page_view", "search", "add_to_cart", "pay")
    with path.open("w", encoding="utf-8") as handle:
        for i in range(lines):
            record = {
                "event_id": f"E{i:010d}",
                "event": rng.choice(events),
                "event_time": f"2026-11-21T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
                f".{rng.randrange(1000):03d}+08:00",
                "user_id": f"U{rng.randrange(200_000):08d}",
                "device_id": f"D{rng.randrange(300_000):08d}",
                "os": rng.choice(("ios", "android")),
                "app_version": "5.2.0",
                "page": "home",
                "amount": rng.randrange(100_000),
            }
            handle.write(json.dumps(record) + "\n")


def main(lines: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("nightshift.ingest").setLevel(logging.DEBUG)  # per-step timings
    home = Path(tempfile.mkdtemp(prefix="nightshift-ingest-bench-"))
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    from nightshift.ingest.day import ingest_day
    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client

    settings = get_settings()
    day_dir = settings.landing_dir / "app" / BENCH_DAY.isoformat()
    day_dir.mkdir(parents=True)
    write_events(day_dir / "events.jsonl", lines)
    client = get_client(settings)
    client.command("SELECT 1")  # engine start-up is not ingestion
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = ingest_day(BENCH_DAY, "app", settings, client=client)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    size = (day_dir / "events.jsonl").stat().st_size
    row = rows[0]
    print(
        f"CPU time {cpu_seconds:.2f} s over all threads (the machine has {os.cpu_count()} cores; the wall time "
        f"depends on what else runs)"
    )
    print(
        f"{lines} lines ({size / 1e6:.0f} MB) in {seconds:.2f} s: {lines / seconds:,.0f} records/s; "
        f"loaded {row['loaded']}, duplicates {row['duplicates']}, quarantined {row['quarantined']}"
    )
    print(f"scratch home (delete when done): {home}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
