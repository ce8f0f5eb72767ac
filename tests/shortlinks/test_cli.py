"""`nightshift shortlinks serve` as operations start it: a subprocess with its own installation, on a free port."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from nightshift.shortcodes import encode
from tests.conftest import REPO_ROOT, VENV_BIN, isolated_env, run_cli


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_refuses_to_start_without_an_ip_salt(tmp_path):
    completed = run_cli(tmp_path, "shortlinks", "serve", "--port", str(free_port()), check=False, timeout=60)
    assert completed.returncode == 1
    assert "NIGHTSHIFT_SHORTLINK_IP_SALT is not set" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_serve_redirects_a_code_from_the_lake_and_logs_the_click(tmp_path):
    code = encode("winback_lapsed", 42)
    partition = tmp_path / "lake" / "short_links" / "run_date=2026-11-20"
    partition.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "code": [code],
                "campaign_id": ["winback_lapsed"],
                "one_id": [42],
                "channel": ["sms"],
                "variant": ["coupon_copy_a"],
                "landing_url": ["https://shop.example/w"],
            }
        ),  # fmt: skip
        partition / "part-00000.parquet",
    )
    port = free_port()
    env = isolated_env(tmp_path, NIGHTSHIFT_SHORTLINK_IP_SALT="s3cret")
    server = subprocess.Popen(
        [str(VENV_BIN / "nightshift"), "shortlinks", "serve", "--port", str(port)],
        env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None:
            assert server.poll() is None, f"serve exited: {server.communicate()}"
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/{code}")
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer.status_code == 302
        assert answer.headers["location"].startswith("https://shop.example/w?utm_source=nightshift&utm_medium=sms")
        assert httpx.get(f"http://127.0.0.1:{port}/nope").status_code == 404
        logged = list((tmp_path / "landing" / "clicks").glob("*/clicks-*.jsonl"))
        assert len(logged) == 1 and code in logged[0].read_text()
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert "1 codes" in out
