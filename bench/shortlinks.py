"""Short-link benchmark: short codes per second (encode and the strict decode), and redirects per second through
`nightshift shortlinks serve` on 127.0.0.1.

    python -m bench.shortlinks                         # 1,000,000 codes; 100,000 links, 10,000 requests
    python -m bench.shortlinks --codes 200000 --links 1000000 --requests 20000 --in-flight 100

The codes are timed in this process, one campaign and consecutive one_ids (what the export stage encodes). The
redirects are timed against the real command in its own process (a temporary installation whose lake holds
`--links` links of one night), with httpx.AsyncClient keeping `--in-flight` requests open; every answer is
checked (302 to the landing page) and every click is logged by the service. The client (httpx) spends several
times the service's CPU per request and shares the machine's cores, so the wall rate is the client's ceiling;
the service's own CPU seconds for the requests (Linux /proc) give what one service core sustains.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from bench import machine_description
from nightshift.shortcodes import decode, encode

console = Console(width=None if sys.stdout.isatty() else 140)
CAMPAIGN = "winback_lapsed"
LANDING_URL = "https://m.shop.example/coupons/winback"
STARTUP_TIMEOUT_SECONDS = 120


def time_codes(count: int) -> tuple[float, float]:
    """Seconds to encode `count` codes, and to decode them back (each checked)."""
    started = time.perf_counter()
    codes = [encode(CAMPAIGN, one_id) for one_id in range(count)]
    encoded = time.perf_counter() - started
    started = time.perf_counter()
    for one_id, code in enumerate(codes):
        if decode(code).one_id != one_id:
            raise AssertionError(f"code {code} does not decode back to one_id {one_id}")
    return encoded, time.perf_counter() - started


def write_links(home: Path, count: int) -> None:
    """One night of `count` links in the lake, in the export stage's columns."""
    partition = home / "lake" / "short_links" / "run_date=2026-11-20"
    partition.mkdir(parents=True)
    table = pa.table({
        "code": [encode(CAMPAIGN, one_id) for one_id in range(count)],
        "campaign_id": [CAMPAIGN] * count,
        "one_id": pa.array(range(count), pa.uint64()),
        "channel": ["sms"] * count,
        "variant": ["coupon_copy_a" if one_id % 2 else "coupon_copy_b" for one_id in range(count)],
        "landing_url": [LANDING_URL] * count,
    })  # fmt: skip
    pq.write_table(table, partition / "part-00000.parquet")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def hammer(base_url: str, codes: list[str], in_flight: int) -> float:
    """Seconds to get every code with `in_flight` requests open; each answer must be a 302 to the landing page."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    gate = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def one(code: str) -> None:
            async with gate:
                answer = await client.get(f"/{code}")
            if answer.status_code != 302 or not answer.headers["location"].startswith(LANDING_URL):
                raise AssertionError(f"/{code} answered {answer.status_code} {answer.headers.get('location')}")

        started = time.perf_counter()
        await asyncio.gather(*(one(code) for code in codes))
        return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_redirects(links: int, requests: int, in_flight: int) -> tuple[float, float, float, int]:
    """(seconds until the service answered, wall seconds for the requests, the service's CPU seconds for them,
    clicks logged). The client (httpx) costs several times the service's CPU per request, so the wall figure is
    the client's ceiling on this machine; requests per service CPU second is what one service core sustains."""
    with tempfile.TemporaryDirectory(prefix="nightshift-bench-shortlinks-") as directory:
        home = Path(directory)
        write_links(home, links)
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("NIGHTSHIFT_", "AIRFLOW"))}
        env.update({"NIGHTSHIFT_HOME": str(home), "NIGHTSHIFT_SHORTLINK_IP_SALT": "bench"})
        command = [sys.executable, "-m", "nightshift.cli", "shortlinks", "serve", "--port", str(port)]
        started = time.perf_counter()
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            base_url = f"http://127.0.0.1:{port}"
            probe = encode(CAMPAIGN, 0)
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"shortlinks serve exited: {server.stderr.read()}")
                if time.perf_counter() - started > STARTUP_TIMEOUT_SECONDS:
                    raise RuntimeError(f"shortlinks serve did not answer within {STARTUP_TIMEOUT_SECONDS} s")
                try:
                    if httpx.get(f"{base_url}/{probe}").status_code == 302:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            ready = time.perf_counter() - started
            codes = [encode(CAMPAIGN, n % links) for n in range(requests)]
            service_cpu = cpu_seconds(server.pid)
            elapsed = asyncio.run(hammer(base_url, codes, in_flight))
            service_cpu = cpu_seconds(server.pid) - service_cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
        clicks = sum(1 for path in home.glob("landing/clicks/*/*.jsonl") for _ in path.open(encoding="utf-8"))
    return ready, elapsed, service_cpu, clicks - 1  # the probe's click is not one of the timed requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=1_000_000, help="codes to encode and decode")
    parser.add_argument("--links", type=int, default=100_000, help="links the service loads")
    parser.add_argument("--requests", type=int, default=10_000, help="redirect requests to time")
    parser.add_argument("--in-flight", type=int, default=50, help="requests open at once")
    args = parser.parse_args(argv)
    console.print(machine_description())
    encoded, decoded = time_codes(args.codes)
    ready, elapsed, service_cpu, clicks = time_redirects(args.links, args.requests, args.in_flight)
    if clicks != args.requests:
        raise AssertionError(f"{args.requests:,} redirects but {clicks:,} clicks logged")
    table = Table(title="Short links")
    for column in ("what", "count", "seconds", "per second"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row("encode codes", f"{args.codes:,}", f"{encoded:.2f}", f"{args.codes / encoded:,.0f}")
    table.add_row("decode codes (strict)", f"{args.codes:,}", f"{decoded:.2f}", f"{args.codes / decoded:,.0f}")
    table.add_row(f"service start ({args.links:,} links loaded)", "1", f"{ready:.2f}", "")
    table.add_row(f"redirects ({args.in_flight} in flight, logged), wall", f"{args.requests:,}", f"{elapsed:.2f}",
                  f"{args.requests / elapsed:,.0f}")  # fmt: skip
    table.add_row("redirects per service CPU second", f"{args.requests:,}", f"{service_cpu:.2f}",
                  f"{args.requests / max(service_cpu, 1e-9):,.0f}")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
