"""Delivery file benchmark: each channel writer (`nightshift.deliveries.WRITERS`) on N synthetic audience rows,
rows per second, against the issue's goal of 1,000,000 rows/s for the CSV/JSON channels on 2 cores.

    python -m bench.deliveries                 # 1,000,000 rows per channel
    python -m bench.deliveries --rows 200000

Rows have the campaign file's columns plus what each writer reads (a mainland number or an address, a send time,
two template parameters, the staff owner for WeCom, the device for push). The time is the writer's (rows -> the
payload's bytes) plus writing the parts to a temporary folder; reading the rows from the warehouse is not timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import machine_description

GOAL_ROWS_PER_SECOND = 1_000_000
console = Console(width=None if sys.stdout.isatty() else 140)


def synthetic_rows(channel: str, count: int) -> list[dict]:
    send_times = ("2026-11-20T01:00:00Z", "2026-11-20T02:30:00Z")
    rows = []
    for i in range(count):
        phone = f"+86138{i % 100_000_000:08d}"
        address = phone if channel in ("sms", "outbound_call") else f"{channel}-{i}"
        rows.append({
            "one_id": i, "contact_id": f"{i:032x}", "variant": "a", "contact_ref": address,
            "send_at": send_times[i % 2], "template_id": "SMS_1", "benefit_id": "coupon", "cost_fen": 500,
            "param_name": f"user{i}", "param_amount": "5", "device_os": ("ios", "android")[i % 2],
            "wecom_owner_userid": f"staff{i % 50}", "timezone": "Asia/Shanghai",
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    from bench.synthetic.campaign_world import plan
    from nightshift.deliveries import WRITERS, write_parts

    template = {"id": "sms_1", "params": {"name": "nickname"}, "sign_name": "夜班商城"}
    campaign = plan(id="bench", channels=list(WRITERS), purpose="service", template=template)
    table = Table(title=f"Channel writers, {args.rows:,} rows each ({machine_description()})")
    for column in ("channel", "files", "MB", "seconds", "rows/s", "of goal"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    with tempfile.TemporaryDirectory(prefix="nightshift-bench-deliveries-") as scratch:
        for channel, writer in WRITERS.items():
            rows = synthetic_rows(channel, args.rows)
            started = time.perf_counter()
            payload = writer(rows, campaign)
            paths = write_parts(Path(scratch) / channel, payload.parts)
            seconds = time.perf_counter() - started
            size = sum(path.stat().st_size for path in paths) / 2**20
            rate = args.rows / seconds
            table.add_row(channel, str(len(paths)), f"{size:,.1f}", f"{seconds:.2f}", f"{rate:,.0f}",
                          f"{rate / GOAL_ROWS_PER_SECOND:.0%}")  # fmt: skip
            del rows, payload
    console.print(table)


if __name__ == "__main__":
    main()
