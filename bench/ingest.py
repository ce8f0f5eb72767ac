"""Ingestion throughput against the engine's own parser: `python -m bench.ingest [LINES]` (default 1M).

For each format, one synthetic file of a declared entity goes through the real ingest path (file read, encoding,
validation, quarantine, dedup, lineage columns, registry and summary) and, on the same file, through the bare
engine (`INSERT INTO t SELECT * FROM file(path, <format>)`, every column as the engine infers it, nothing checked):
what the embedded ClickHouse itself can parse and write is the ceiling to compare with. Issue 14's goal is the
higher of 500,000 records/s and half the bare rate; the table prints both and their ratio.
A second table says where the real path's time went, step by step (the steps `nightshift.ingest.load.timed`
measures: listing and hashing, reading lines, validating and routing, publishing...) and what ran outside them.

- JSON lines: `app.events` (UTF-8).
- CSV: `receipts.chuanglan_sms`, GBK as that vendor delivers it (the real path decodes it; the bare engine reads
  the bytes as they are, so it does less work than the real path has to).

Both run in one scratch NIGHTSHIFT_HOME (its own embedded warehouse); the machine's load is printed beside each
timing.
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

from rich.console import Console
from rich.table import Table

from bench import load_average, machine_description

BENCH_DAY = date(2026, 11, 21)
GOAL_RECORDS_PER_SECOND = 500_000
console = Console(width=190)  # every cell on one line: the table is read (and tested) row by row


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


def write_chuanglan_receipts(path: Path, lines: int, seed: int = 7) -> None:
    """A Chuanglan status-report CSV in GBK, Chinese status descriptions included."""
    rng = random.Random(seed)
    statuses = (("DELIVRD", "成功"), ("UNDELIV", "空号"), ("REJECTD", "用户拒收"), ("MK:0008", "发送频率超限"))
    with path.open("w", encoding="gbk", newline="") as handle:
        handle.write("msgid,mobile,status,statusDesc,reportTime,uid\n")
        for i in range(lines):
            status, description = statuses[0] if rng.random() < 0.9 else rng.choice(statuses[1:])
            handle.write(
                f"261121{i:012d},138{rng.randrange(10**8):08d},{status},{description},"
                f"2026-11-21 {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d},"
                f"{rng.getrandbits(128):032x}\n"
            )


# format label -> (source, entity file name, writer, ClickHouse input format)
FORMATS = {
    "JSON lines (app.events, UTF-8)": ("app", "events.jsonl", write_events, "JSONEachRow"),
    "CSV (receipts.chuanglan_sms, GBK)": ("receipts", "chuanglan_sms.csv", write_chuanglan_receipts, "CSVWithNames"),
}


class StepTimes(logging.Handler):
    """Wall and CPU seconds of the real path per step, added up from the DEBUG records `nightshift.ingest.load.timed`
    logs (each carries `ingest_step`, `seconds` and `cpu_seconds`), in the order the steps first ran."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.steps: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        step = getattr(record, "ingest_step", None)
        if step is not None:
            totals = self.steps.setdefault(step, [0.0, 0.0])
            totals[0] += record.seconds
            totals[1] += record.cpu_seconds

    def __enter__(self) -> StepTimes:
        self._logger = logging.getLogger("nightshift.ingest.load")
        self._saved = (self._logger.level, self._logger.propagate)
        self._logger.setLevel(logging.DEBUG)
        self._logger.propagate = False  # the figures go to the table, not to whatever prints log records
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._saved[0])
        self._logger.propagate = self._saved[1]


def step_rows(label: str, steps: dict[str, list[float]], real_seconds: float, real_cpu: float) -> list[list[str]]:
    """Rows of the breakdown table for one format: each timed step, then what ran outside them."""
    rows = [
        [label if i == 0 else "", step, f"{wall:.2f}", f"{cpu:.2f}", f"{wall / real_seconds:.0%}"]
        for i, (step, (wall, cpu)) in enumerate(steps.items())
    ]
    rest_wall = real_seconds - sum(wall for wall, _ in steps.values())
    rest_cpu = real_cpu - sum(cpu for _, cpu in steps.values())
    share = f"{rest_wall / real_seconds:.0%}"
    rows.append(["", "outside the timed steps", f"{rest_wall:.2f}", f"{rest_cpu:.2f}", share])
    return rows


def measure(label: str, lines: int, settings, client) -> tuple[list[str], list[list[str]]]:
    """One format: ([label, MB, real s, real rec/s, bare s, bare rec/s, ratio, CPU s, goal, load], the rows of
    where the real path's time went). CPU s are the process's (the embedded engine runs in it): less sensitive to
    the machine's load than wall seconds."""
    from nightshift.ingest.day import ingest_day

    source, file_name, write, input_format = FORMATS[label]
    day_dir = settings.landing_dir / source / BENCH_DAY.isoformat()
    day_dir.mkdir(parents=True)
    path = day_dir / file_name
    write(path, lines)

    with StepTimes() as step_times:
        started, cpu_started = time.perf_counter(), time.process_time()
        rows = ingest_day(BENCH_DAY, source, settings, client=client)
        real_seconds, real_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    summary = rows[0]
    if summary["loaded"] + summary["duplicates"] + summary["quarantined"] != lines:
        raise SystemExit(f"{label}: the real path accounted for {summary} of {lines} lines")

    bare_file, bare_table = f"file('{path}', {input_format})", f"default.bare_{source}"
    client.command(f"CREATE TABLE {bare_table} ENGINE = MergeTree ORDER BY tuple() EMPTY AS SELECT * FROM {bare_file}")
    started, cpu_started = time.perf_counter(), time.process_time()
    client.command(f"INSERT INTO {bare_table} SELECT * FROM {bare_file}")
    bare_seconds, bare_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    bare_rows = client.query(f"SELECT count() FROM {bare_table}").result_rows[0][0]
    if bare_rows != lines:
        raise SystemExit(f"{label}: the bare engine read {bare_rows} of {lines} lines")
    real_rate, bare_rate = lines / real_seconds, lines / bare_seconds
    goal = max(GOAL_RECORDS_PER_SECOND, bare_rate / 2)
    return [
        label,
        f"{path.stat().st_size / 1e6:.0f}",
        f"{real_seconds:.2f}",
        f"{real_rate:,.0f}",
        f"{bare_seconds:.2f}",
        f"{bare_rate:,.0f}",
        f"{real_rate / bare_rate:.2f}",
        f"{real_cpu:.2f} / {bare_cpu:.2f} ({bare_cpu / real_cpu:.2f})",
        f"{goal:,.0f} ({'met' if real_rate >= goal else 'not met'})",
        load_average(),
    ], step_rows(label, step_times.steps, real_seconds, real_cpu)


def main(lines: int) -> None:
    table = Table(
        "file", "MB", "real path s", "real rec/s", "bare engine s", "bare rec/s", "real / bare",
        "CPU s real / bare (bare/real)", "goal rec/s",
        "load avg", title=f"Ingestion, {lines:,} lines per file",
    )  # fmt: skip
    home = Path(tempfile.mkdtemp(prefix="nightshift-ingest-bench-"))  # one warehouse per process: both formats
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    from nightshift.settings import get_settings
    from nightshift.warehouse import ensure_databases, get_client

    settings = get_settings()
    client = get_client(settings)
    ensure_databases(client)
    client.command("SELECT 1")  # engine start-up is not ingestion
    steps = Table(
        "file", "step of the real path", "seconds", "CPU s", "share of real s",
        title="Where the real path's time goes (nightshift.ingest.load.timed)",
    )  # fmt: skip
    for label in FORMATS:
        row, breakdown = measure(label, lines, settings, client)
        table.add_row(*row)
        for step_row in breakdown:
            steps.add_row(*step_row)
    console.print(table)
    console.print(steps)
    console.print(
        f"machine: {machine_description()}. Real path: validation, quarantine, dedup and lineage, registry and "
        "summary. Bare: INSERT ... SELECT FROM file() into a MergeTree, columns as inferred. "
        f"Scratch home (delete when done): {home}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
