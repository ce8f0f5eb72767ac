"""Acceptance: `kill -9` of a `nightshift deliver` process midway, then a rerun: still exactly once.

The simulator runs in this test process (it outlives the killed delivery, as a vendor would); the delivery runs in
subprocesses with their own installation. A call cut off by the kill leaves its contacts at `sending`; the rerun
sends them again with the same idempotency key, and the simulator answers the first result without a second send.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import date

from bench.synthetic.sealed_deliveries import SECRETS, endpoints_json, write_sealed
from nightshift.generate.channels import ChannelSimulator, SimulatorConfig, address_fails, read_ledger
from tests.conftest import REPO_ROOT, VENV_BIN, isolated_env, run_cli

RUN_DATE = date(2026, 3, 2)
PEOPLE = {"wechat_oa_template": 400}
INVALID_SHARE = 0.05
KILL_AFTER_SENDS = 80
WAIT_SECONDS = 120
LATEST_SQL = (
    "SELECT contact_id, argMax(status, (sent_at, attempt)) AS status, argMax(vendor_code, (sent_at, attempt)) AS code "
    f"FROM audience.delivery_results WHERE run_date = '{RUN_DATE}' GROUP BY contact_id"
)


def latest(home, env) -> dict[str, tuple[str, str]]:
    rows = json.loads(run_cli(home, "sql", LATEST_SQL, "--format", "json", **env).stdout)
    return {row["contact_id"]: (row["status"], row["code"]) for row in rows}


def test_kill_midway_then_rerun_sends_each_message_once(tmp_path):
    home = tmp_path / "home"
    planned = write_sealed(home / "exports", RUN_DATE, PEOPLE)["wechat_oa_template"]
    config = SimulatorConfig(rate_limits={"wechat_oa_template": 100}, latency_seconds=0.05, invalid_share=INVALID_SHARE)
    ledger_dir = tmp_path / "ledger"
    with ChannelSimulator(config, ledger_dir) as simulator:
        env = {"NIGHTSHIFT_DELIVERY_ENDPOINTS": endpoints_json(simulator.url, PEOPLE), **SECRETS}
        dry_run = run_cli(home, "deliver", "--date", RUN_DATE.isoformat(), "--dry-run", **env)
        assert f"{len(planned)} planned, 0 done before, {len(planned)} to send" in dry_run.stdout
        assert not read_ledger(ledger_dir).calls, "a dry run calls nothing"
        delivery = subprocess.Popen(
            [str(VENV_BIN / "nightshift"), "deliver", "--date", RUN_DATE.isoformat()],
            env=isolated_env(home, **env), cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + WAIT_SECONDS
        while len(read_ledger(ledger_dir).sends) < KILL_AFTER_SENDS:
            assert delivery.poll() is None, f"delivery ended before the kill: {delivery.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the delivery did not get going"
            time.sleep(0.02)
        os.kill(delivery.pid, signal.SIGKILL)
        delivery.wait(timeout=30)
        sent_before_kill = len(read_ledger(ledger_dir).sends)
        assert KILL_AFTER_SENDS <= sent_before_kill < len(planned), "the kill must land midway"
        after_kill = latest(home, env)
        assert set(Counter(status for status, _ in after_kill.values())) <= {"sending", "accepted", "failed"}
        assert len(after_kill) < len(planned) or any(status == "sending" for status, _ in after_kill.values())

        rerun = run_cli(home, "deliver", "--date", RUN_DATE.isoformat(), **env)
        assert "accepted" in rerun.stdout
        ledger = read_ledger(ledger_dir)

    handled = Counter(send["address"] for send in ledger.sends)
    assert set(handled) == set(planned.values()), "a planned message was lost"
    assert set(handled.values()) == {1}, f"sent twice: {[a for a, n in handled.items() if n > 1][:5]}"
    final = latest(home, env)
    failing = {c for c, address in planned.items() if address_fails("wechat_oa_template", address, INVALID_SHARE)}
    assert {c for c, (status, _) in final.items() if status == "failed"} == failing
    assert {code for c, (status, code) in final.items() if status == "failed"} == {"43004"}
    assert {c for c, (status, _) in final.items() if status == "accepted"} == set(planned) - failing
