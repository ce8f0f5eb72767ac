"""The connection factory: embedded engine, the one-process lock and its error message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tests.conftest import isolated_env

HOLD_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from nightshift.warehouse import get_client
    get_client().command("SELECT 1")
    print("holding", flush=True)
    time.sleep(float(sys.argv[1]))
    """
)

OPEN_SCRIPT = textwrap.dedent(
    """
    import time
    from nightshift.errors import NightshiftError
    from nightshift.warehouse import get_client
    started = time.monotonic()
    try:
        get_client().command("SELECT 1")
        print("OPENED", round(time.monotonic() - started, 1))
    except NightshiftError as error:
        print("ERROR", round(time.monotonic() - started, 1), type(error).__name__, error)
    """
)


def test_client_runs_queries_on_the_embedded_engine(client):
    client.command("CREATE TABLE IF NOT EXISTS ops.factory_probe (n UInt8) ENGINE = Memory")
    client.insert("ops.factory_probe", [[1], [2]], column_names=["n"])
    assert client.query("SELECT sum(n) FROM ops.factory_probe").result_rows == [(3,)]


def test_second_client_in_the_same_process_shares_the_warehouse(client, settings):
    from nightshift.warehouse import get_client

    other = get_client(settings)
    assert other.query("SELECT count() FROM system.databases WHERE name = 'ops'").result_rows == [(1,)]


def _start_holder(home, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(seconds)],
        env=isolated_env(home),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_locked_warehouse_fails_within_the_wait_limit_naming_the_holder(tmp_path):
    holder = _start_holder(tmp_path, 60)
    try:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", OPEN_SCRIPT],
            env=isolated_env(tmp_path, NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT="2"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    out = result.stdout
    assert out.startswith("ERROR"), out + result.stderr
    assert "WarehouseLockedError" in out
    assert f"pid {holder.pid}" in out  # names what holds it
    assert "nightshift.lock" in out  # names the lock
    assert "NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT" in out  # says what to do
    assert "Traceback" not in result.stderr
    assert elapsed < 30


def test_waiting_process_gets_the_warehouse_once_the_holder_exits(tmp_path):
    holder = _start_holder(tmp_path, 2)
    result = subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT],
        env=isolated_env(tmp_path, NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT="60"),
        capture_output=True,
        text=True,
        timeout=90,
    )
    holder.wait()
    assert result.stdout.startswith("OPENED"), result.stdout + result.stderr
    waited = float(result.stdout.split()[1])
    assert waited >= 0.5  # it really waited for the holder instead of failing


def test_cli_prints_the_lock_error_without_a_traceback(tmp_path):
    holder = _start_holder(tmp_path, 60)
    try:
        from tests.conftest import run_cli

        result = run_cli(tmp_path, "sql", "SELECT 1", check=False, NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT="1")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert "is locked by pid" in result.stderr
    assert "Traceback" not in result.stderr
