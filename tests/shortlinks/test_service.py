"""The redirect service on a real socket (uvicorn on 127.0.0.1, port chosen by the OS), over a lake copy of
audience.short_links written as the export stage writes it: known codes redirect with UTM parameters and are logged
(hashed IP, never the address), the latest night's row wins, a new night's links are picked up without a restart,
hostile or unknown codes get the same plain 404 page and no log line, and the service answers 3,000 requests with
50 in flight correctly and is still up afterwards."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn

from nightshift.shortcodes import encode
from nightshift.shortlinks.app import NOT_FOUND_PAGE, create_app
from nightshift.shortlinks.clicklog import ClickLog
from nightshift.shortlinks.index import load_index, refreshed

SALT = "test-salt"
LANDING = "https://m.shop.example/coupons/winback?coupon=5&utm_source=old"
PEOPLE = range(1, 201)


def write_night(lake: Path, night: date, rows: list[tuple[str, str, int, str, str]]) -> None:
    """One run date's partition of the lake copy, in the export stage's columns."""
    folder = lake / "short_links" / f"run_date={night.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    columns = ["code", "campaign_id", "one_id", "channel", "variant"]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    table = table.append_column("landing_url", pa.array([LANDING] * len(rows)))
    table = table.append_column("run_date", pa.array([night] * len(rows)))
    pq.write_table(table, folder / "part-00000.parquet")


def link_row(one_id: int, channel: str = "sms", variant: str = "coupon_copy_a", campaign: str = "winback_lapsed"):
    return (encode(campaign, one_id), campaign, one_id, channel, variant)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("shortlinks")
    lake, landing = root / "lake", root / "landing"
    write_night(lake, date(2026, 11, 19), [link_row(1, "app_push", "coupon_copy_b")])
    write_night(lake, date(2026, 11, 20), [link_row(i) for i in PEOPLE])
    clicks = ClickLog(landing, SALT)
    app = create_app(load_index(str(lake)), clicks, lambda current: refreshed(current, str(lake)), 0.2)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start within 20 s"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{listener.getsockname()[1]}", "lake": lake, "landing": landing}
    server.should_exit = True
    thread.join(timeout=10)


def click_lines(landing: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(landing.glob("clicks/*/*.jsonl")) for line in path.open()]


def test_a_known_code_redirects_with_utm_and_is_logged_without_the_ip(service):
    code = encode("winback_lapsed", 7)
    before = len(click_lines(service["landing"]))
    answer = httpx.get(f"{service['url']}/{code}", headers={"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger"})
    assert answer.status_code == 302
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["location"] == (
        "https://m.shop.example/coupons/winback?coupon=5&utm_source=nightshift&utm_medium=sms"
        "&utm_campaign=winback_lapsed&utm_content=coupon_copy_a"
    )
    lines = click_lines(service["landing"])
    assert len(lines) == before + 1
    click = lines[-1]
    assert set(click) == {"click_id", "code", "clicked_at", "user_agent", "ip_hash"}
    assert click["code"] == code and click["user_agent"] == "Mozilla/5.0 (iPhone) MicroMessenger"
    assert click["ip_hash"] == hashlib.sha256(f"{SALT}127.0.0.1".encode()).hexdigest()
    assert click["clicked_at"].endswith("Z")
    assert "127.0.0.1" not in "".join(path.read_text() for path in service["landing"].glob("clicks/*/*.jsonl"))


def test_the_latest_night_wins_and_a_new_night_is_picked_up_without_restart(service):
    answer = httpx.get(f"{service['url']}/{encode('winback_lapsed', 1)}")
    assert "utm_medium=sms" in answer.headers["location"], "20 Nov (sms) replaces 19 Nov (app_push)"
    newcomer = encode("spring_sale", 5)
    assert httpx.get(f"{service['url']}/{newcomer}").status_code == 404
    write_night(service["lake"], date(2026, 11, 21), [link_row(5, "wecom", "", campaign="spring_sale")])
    deadline = time.monotonic() + 10
    while (answer := httpx.get(f"{service['url']}/{newcomer}")).status_code == 404:
        assert time.monotonic() < deadline, "the new night's links were not picked up within 10 s"
        time.sleep(0.1)
    assert answer.status_code == 302
    assert "utm_campaign=spring_sale" in answer.headers["location"]
    assert "utm_content" not in answer.headers["location"], "no variant, no utm_content"


HOSTILE_PATHS = [
    "/" + "a" * 5000,  # very long
    "/" + "mVFaKzaSM" * 4,  # longer than any code, every character in the alphabet
    "/1%27%20OR%201%3D1%20--",  # SQL text
    "/x%3BDROP%20TABLE%20audience.short_links",
    "/%E7%A0%81%E7%A0%81%E7%A0%81%E7%A0%81%E7%A0%81%E7%A0%81%E7%A0%81%E7%A0%81",  # unicode
    "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/%00%00%00%00%00%00%00%00",
    "/..%2F..%2Fetc%2Fpasswd",
    "/",
    "/a/b",
    "/" + encode("winback_lapsed", 999_999),  # canonical, but nobody was sent it
    "/" + encode("winback_lapsed", 7)[:-1],  # a real code cut short
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=range(len(HOSTILE_PATHS)))
def test_hostile_or_unknown_codes_get_the_plain_404_page_and_no_log_line(service, path):
    before = len(click_lines(service["landing"]))
    answer = httpx.get(service["url"] + path)
    assert answer.status_code == 404
    assert answer.text == NOT_FOUND_PAGE  # the same page whatever was asked: nothing echoed, no trace
    assert len(click_lines(service["landing"])) == before


def test_other_methods_get_the_404_page(service):
    answer = httpx.post(f"{service['url']}/{encode('winback_lapsed', 7)}", content=b"x")
    assert answer.status_code == 404 and answer.text == NOT_FOUND_PAGE


LOAD_REQUESTS = 3_000
IN_FLIGHT = 50


def test_3000_requests_with_50_in_flight_are_all_answered_correctly(service):
    """Two in three requests are known codes (302, logged), one in three hostile (404, not logged)."""
    before = len(click_lines(service["landing"]))
    paths = [
        f"/{encode('winback_lapsed', PEOPLE[n % len(PEOPLE)])}" if n % 3 else HOSTILE_PATHS[n % len(HOSTILE_PATHS)]
        for n in range(LOAD_REQUESTS)
    ]

    async def hammer() -> list[tuple[str, int, str]]:
        limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
        gate = asyncio.Semaphore(IN_FLIGHT)
        async with httpx.AsyncClient(base_url=service["url"], limits=limits, timeout=30) as client:

            async def one(path: str) -> tuple[str, int, str]:
                async with gate:
                    answer = await client.get(path)
                    return path, answer.status_code, answer.headers.get("location", "")

            return await asyncio.gather(*(one(path) for path in paths))

    started = time.perf_counter()
    answers = asyncio.run(hammer())
    elapsed = time.perf_counter() - started
    known = [answer for n, answer in enumerate(answers) if n % 3]
    hostile = [answer for n, answer in enumerate(answers) if not n % 3]
    assert all(status == 302 and "utm_campaign=winback_lapsed" in location for _, status, location in known)
    assert all(status == 404 for _, status, _ in hostile)
    assert len(click_lines(service["landing"])) - before == len(known)
    assert httpx.get(f"{service['url']}/{encode('winback_lapsed', 3)}").status_code == 302  # still up
    print(f"{LOAD_REQUESTS} requests, {IN_FLIGHT} in flight: {elapsed:.2f} s, {LOAD_REQUESTS / elapsed:,.0f} req/s")
