"""API delivery benchmark: the deliver stage sending sealed payloads through the channel simulator on 127.0.0.1.

    python -m bench.delivery_api                                  # default sizes below
    python -m bench.delivery_api --messages 1000000 --channels sms,app_push

Two runs per channel, in a fresh installation (temporary NIGHTSHIFT_HOME), each on a date of its own:
- limits lifted (simulator and client unlimited, no faults): messages per second, the client's own ceiling, which
  for one-contact-per-call channels (WeChat, WeCom) is bounded by the two result inserts around every call;
- at the configured limits: messages per second and the busiest second of calls over the limit (<= 1.0 wanted).

The simulator runs in a process of its own (`SimulatorProcess`), as a vendor runs on machines of its own: in the
bench's process it would share one interpreter lock with the client and halve both.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import machine_description
from bench.synthetic.sealed_deliveries import SECRETS, endpoints_json, write_sealed

console = Console()
# Messages per channel with the limits lifted: SMS and push carry 100 and 1,000 contacts a call.
LIFTED_MESSAGES = {"sms": 100_000, "app_push": 100_000, "wechat_oa_template": 3_000, "wecom": 3_000}
LIMITS = {"sms": 50, "app_push": 20, "wechat_oa_template": 100, "wecom": 100}
CONTACTS_PER_CALL = {"sms": 100, "app_push": 1_000, "wechat_oa_template": 1, "wecom": 1}
SECONDS_AT_LIMIT = 5  # enough calls at the limit to fill several one-second windows
LIFTED_DATE, LIMITED_DATE = date(2026, 1, 10), date(2026, 1, 11)


def run_once(settings, client, run_date: date, channel: str, messages: int, limits: dict, ledger: Path) -> dict:
    from nightshift.generate.channels import SimulatorConfig, SimulatorProcess, read_ledger
    from nightshift.stages.deliver import deliver

    write_sealed(settings.exports_dir, run_date, {channel: messages})
    with SimulatorProcess(SimulatorConfig(rate_limits=limits), ledger) as simulator:
        configured = settings.model_copy(update={
            "delivery_endpoints": endpoints_json(simulator.url, [channel]), "delivery_rate_limits": json.dumps(limits),
        })  # fmt: skip
        started = time.perf_counter()
        report = deliver(client, configured, run_date, [channel])
        seconds = time.perf_counter() - started
    tally = report.tallies[channel]
    return {"messages": tally.accepted, "calls": tally.calls, "seconds": seconds,
            "busiest": read_ledger(ledger).busiest_second(channel)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=0, help="messages per channel with limits lifted")
    parser.add_argument("--channels", default=",".join(LIFTED_MESSAGES), help="comma-separated channels")
    args = parser.parse_args(argv)
    channels = [channel.strip() for channel in args.channels.split(",") if channel.strip()]
    home = Path(tempfile.mkdtemp(prefix="nightshift-bench-delivery-"))
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    os.environ.update(SECRETS)
    from nightshift.settings import get_settings
    from nightshift.warehouse import ensure_databases, get_client

    settings = get_settings()
    client = get_client(settings)
    ensure_databases(client)
    table = Table(title=f"API delivery through the simulator ({machine_description()})")
    for column in ("channel", "run", "messages", "calls", "seconds", "messages/s", "calls/s", "busiest s / limit"):
        table.add_column(column, justify="right")
    for channel in channels:
        lifted = run_once(settings, client, LIFTED_DATE, channel, args.messages or LIFTED_MESSAGES[channel],
                          dict.fromkeys(LIMITS, 0), home / f"ledger-{channel}-lifted")  # fmt: skip
        limited_messages = LIMITS[channel] * CONTACTS_PER_CALL[channel] * SECONDS_AT_LIMIT
        limited = run_once(settings, client, LIMITED_DATE, channel, limited_messages, LIMITS,
                           home / f"ledger-{channel}-limited")  # fmt: skip
        for label, figures, limit in (("limits lifted", lifted, None), (f"limit {LIMITS[channel]}/s", limited,
                                                                         LIMITS[channel])):  # fmt: skip
            ratio = f"{figures['busiest'] / limit:.2f}" if limit else f"({figures['busiest']} calls)"
            table.add_row(channel, label, f"{figures['messages']:,}", f"{figures['calls']:,}",
                          f"{figures['seconds']:.1f}", f"{figures['messages'] / figures['seconds']:,.0f}",
                          f"{figures['calls'] / figures['seconds']:,.1f}", ratio)  # fmt: skip
    console.print(table)
    console.print(f"installation: {home}")


if __name__ == "__main__":
    main()
