"""The one warehouse connection factory used by every stage, Airflow task, dbt run and test.

`get_client()` returns a clickhouse-connect client for either the embedded engine (chdb) or a ClickHouse
server, depending on NIGHTSHIFT_CLICKHOUSE_URL. Callers never care which.

The embedded engine allows one process per warehouse directory and one directory per process. A plain
second opener gets an opaque engine error, so Nightshift takes an advisory lock (`nightshift.lock` in the
warehouse directory) before opening it, records who holds it, waits with exponential backoff up to
NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT seconds, and then fails with a message that names the lock and its holder.
The lock is held until the process exits, like the engine itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from nightshift.errors import WarehouseLockedError, WarehouseUnavailableError
from nightshift.settings import Settings, WarehouseTarget, get_settings
from nightshift.warehouse.schema import DATABASES

LOCK_FILE_NAME = "nightshift.lock"

_process_lock = threading.Lock()
_held_lock: tuple[Path, IO[str]] | None = None


class _LockBusy(Exception):
    pass


def lock_path_for(warehouse_dir: Path) -> Path:
    return warehouse_dir / LOCK_FILE_NAME


def describe_lock_holder(warehouse_dir: Path) -> str:
    """Who holds the warehouse lock, from what the holder wrote into the lock file."""
    try:
        holder = json.loads(lock_path_for(warehouse_dir).read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "an unknown process (the lock file names no holder)"
    return (
        f"pid {holder.get('pid')} on {holder.get('host')} running `{holder.get('command')}` "
        f"since {holder.get('acquired_at')}"
    )


def _try_lock(handle: IO[str]) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as busy:
        raise _LockBusy from busy


def acquire_embedded_lock(warehouse_dir: Path, timeout_seconds: float) -> None:
    """Take this process's exclusive lock on an embedded warehouse directory, waiting up to the timeout."""
    global _held_lock
    with _process_lock:
        if _held_lock is not None:
            held_dir, _ = _held_lock
            if held_dir == warehouse_dir:
                return
            raise WarehouseUnavailableError(
                f"This process already uses the embedded warehouse {held_dir}; the embedded engine can open only "
                f"one directory per process, so it cannot also open {warehouse_dir}. Run the second warehouse "
                "in a separate process, or point NIGHTSHIFT_CLICKHOUSE_URL at one directory."
            )
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        lock_file = lock_path_for(warehouse_dir)
        handle = open(lock_file, "a+")  # noqa: SIM115 - kept open for the life of the process
        retrying = Retrying(
            retry=retry_if_exception_type(_LockBusy),
            wait=wait_exponential(multiplier=0.1, max=2.0),
            stop=stop_after_delay(timeout_seconds),
            reraise=False,
        )
        try:
            retrying(_try_lock, handle)
        except RetryError:
            handle.close()
            raise WarehouseLockedError(
                f"The embedded warehouse {warehouse_dir} is locked by {describe_lock_holder(warehouse_dir)} "
                f"(lock file {lock_file}). Waited {timeout_seconds:g}s (NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT). "
                "Wait for that process to finish, stop it, or raise the timeout. In Airflow, warehouse tasks "
                "share the one-slot pool `nightshift_warehouse` so they never collide."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:300],
                    "acquired_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        _held_lock = (warehouse_dir, handle)


def _open_embedded(target: WarehouseTarget, timeout_seconds: float):
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import ClickHouseError

    assert target.embedded_path is not None
    acquire_embedded_lock(target.embedded_path, timeout_seconds)
    try:
        return clickhouse_connect.get_client(interface="chdb", path=str(target.embedded_path))
    except ClickHouseError as error:
        raise WarehouseUnavailableError(
            f"Could not open the embedded warehouse {target.embedded_path}: another program that does not use "
            f"Nightshift's lock (a raw chdb or clickhouse-local session?) may hold it. Engine said: "
            f"{str(error).splitlines()[0][:300]}"
        ) from None


def _open_server(target: WarehouseTarget, timeout_seconds: float):
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import ClickHouseError

    deadline = time.monotonic() + max(timeout_seconds, 1.0)
    try:
        return clickhouse_connect.get_client(
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            secure=target.secure,
            connect_timeout=max(1, int(deadline - time.monotonic())),
        )
    except ClickHouseError as error:
        raise WarehouseUnavailableError(
            f"Could not reach the {target.describe()}: {str(error).splitlines()[0][:300]}. Check that the server "
            "is up and NIGHTSHIFT_CLICKHOUSE_URL is right."
        ) from None


def get_client(settings: Settings | None = None):
    """A clickhouse-connect client for the configured warehouse (embedded engine or server)."""
    settings = settings or get_settings()
    target = settings.warehouse
    if target.is_embedded:
        return _open_embedded(target, settings.warehouse_lock_timeout)
    return _open_server(target, settings.warehouse_lock_timeout)


def ensure_databases(client) -> None:
    """Create every database Nightshift uses (declared in `nightshift.warehouse.schema`), Python's and dbt's."""
    for database in DATABASES:
        client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
