"""The in-repo Airflow home: environment, one-time initialisation, `airflow standalone` and `airflow dags test`.

Airflow runs from this repository as it is: DAGs from `<repo>/dags`, plugins from `<repo>/plugins`, metadata in
SQLite under `settings.airflow_home` (`$NIGHTSHIFT_HOME/airflow`). Everything goes through the `airflow`
executable of this interpreter's virtualenv with the environment from `airflow_env`, so the Airflow
processes (scheduler, dag-processor, task runners) see exactly the same NIGHTSHIFT_* settings as the caller.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

from nightshift.errors import NightshiftError
from nightshift.settings import PROJECT_ROOT, Settings

DAG_ID = "nightly_marketing"
WAREHOUSE_POOL = "nightshift_warehouse"  # also named in dags/nightly_marketing.py
DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"
API_HOST = "127.0.0.1"
API_PORT = 8080
# A small machine: LocalExecutor starts `parallelism` worker processes up front (Airflow's default is 32).
PARALLELISM = 4
# Seconds between task tries under `airflow dags test` (read by the DAG file; scheduled runs wait 300 s):
# when debugging or testing, a broken stage should fail in seconds, not after two 5-minute waits.
DAGS_TEST_RETRY_DELAY_SECONDS = 1
PASSWORD_FILE_NAME = "simple_auth_manager_passwords.json.generated"  # written by Airflow's SimpleAuthManager


def airflow_executable() -> Path:
    """`airflow` from the virtualenv this interpreter runs in (not whatever is first on PATH)."""
    executable = Path(sys.executable).parent / "airflow"
    if not executable.exists():
        raise NightshiftError(
            f"No `airflow` executable next to {sys.executable}. Nightshift runs Airflow from its own virtualenv; "
            "run `make setup` (it installs apache-airflow from requirements.lock) and use .venv/bin/nightshift."
        )
    return executable


def warehouse_pool_slots(settings: Settings) -> int:
    """The embedded engine admits one process per directory; a ClickHouse server takes concurrent clients."""
    if settings.warehouse.is_embedded:
        return 1
    return max(2, os.cpu_count() or 2)


def _nightshift_env(settings: Settings) -> dict[str, str]:
    """The settings as NIGHTSHIFT_* variables, so Airflow task processes rebuild the very same settings."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None or value == "":
            continue
        env[f"NIGHTSHIFT_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def airflow_env(settings: Settings) -> dict[str, str]:
    """Environment for every Airflow command: the caller's environment plus the in-repo Airflow configuration.

    The settings' NIGHTSHIFT_* variables come from `settings` only (inherited ones are dropped, so the tasks
    cannot see a different installation than the caller); other variables of the caller pass through.
    """
    home = settings.airflow_home
    settings_variables = {f"NIGHTSHIFT_{name.upper()}" for name in Settings.model_fields}
    env = {name: value for name, value in os.environ.items() if name not in settings_variables}
    env.update(_nightshift_env(settings))
    # `airflow standalone` starts its components as plain `airflow ...`: this virtualenv's must come first.
    venv_bin = str(airflow_executable().parent)
    env["PATH"] = os.pathsep.join([venv_bin, *(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)])
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__API__HOST": API_HOST,
            "AIRFLOW__API__PORT": str(API_PORT),
            # Task runners reach the API server by this URL; spelt out so it matches the host bound above.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{API_HOST}:{API_PORT}/execution/",
        }
    )
    return env


def _run_airflow(args: list[str], settings: Settings, **kwargs) -> subprocess.CompletedProcess:
    env = kwargs.pop("env", None) or airflow_env(settings)
    return subprocess.run([str(airflow_executable()), *args], env=env, **kwargs)


def _stamp_path(settings: Settings) -> Path:
    # Keyed on what init depends on: a new Airflow version needs a migration, a new warehouse mode a new pool.
    airflow_version = version("apache-airflow")
    slots = warehouse_pool_slots(settings)
    return settings.airflow_home / f".nightshift-init-airflow{airflow_version}-pool{slots}"


def init_airflow(settings: Settings) -> None:
    """Create or upgrade the Airflow metadata database and the warehouse pool. A fast no-op once done."""
    home = settings.airflow_home
    stamp = _stamp_path(settings)
    if stamp.exists() and (home / "airflow.db").exists():
        print(f"Airflow home {home} is ready ({stamp.name}); nothing to do.")
        return
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(settings)

    print(f"Airflow home {home}: migrating the SQLite metadata database (airflow db migrate)")
    migrated = _run_airflow(["db", "migrate"], settings, env=env, capture_output=True, text=True)
    _check(migrated, "airflow db migrate", home)

    slots = warehouse_pool_slots(settings)
    print(f"Airflow pool {WAREHOUSE_POOL}: {slots} slot(s) for {settings.warehouse.describe()}")
    description = "Tasks that open the Nightshift warehouse (one slot: the embedded engine allows one process)"
    pool = _run_airflow(
        ["pools", "set", WAREHOUSE_POOL, str(slots), description], settings, env=env, capture_output=True, text=True
    )
    _check(pool, f"airflow pools set {WAREHOUSE_POOL}", home)

    for old_stamp in home.glob(".nightshift-init-*"):
        old_stamp.unlink()
    stamp.touch()
    print(f"Airflow home {home} is ready (DAGs from {DAGS_FOLDER}).")


def _check(completed: subprocess.CompletedProcess, what: str, home: Path) -> None:
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout or "").strip().splitlines()[-20:]
        raise NightshiftError(
            f"`{what}` failed (exit {completed.returncode}) for the Airflow home {home}. Last output:\n"
            + "\n".join(output)
            + f"\nFix the cause above, or delete {home} to start from an empty Airflow home."
        )


def standalone(settings: Settings) -> NoReturn:
    """Become `airflow standalone` (UI, scheduler, dag-processor, triggerer) in the foreground until Ctrl-C."""
    init_airflow(settings)
    home = settings.airflow_home
    print(f"Starting Airflow standalone: UI at http://{API_HOST}:{API_PORT} (user `admin`)")
    print(f"The admin password is generated on first start into {home / PASSWORD_FILE_NAME}")
    print(f"The DAG `{DAG_ID}` starts paused: unpause it in the UI or trigger a run for a given logical date.")
    sys.stdout.flush()
    # Replace this process, so Ctrl-C and kill reach Airflow directly and it stops all of its components.
    executable = str(airflow_executable())
    os.execve(executable, [executable, "standalone"], airflow_env(settings))


def dags_test(run_date: date | str, settings: Settings, *, capture_output: bool = False) -> subprocess.CompletedProcess:
    """Run one whole DAG run for `run_date` in a single process (`airflow dags test`); no scheduler needed.

    Tasks run one after the other in that process, which suits the embedded warehouse. Retries wait
    DAGS_TEST_RETRY_DELAY_SECONDS, so a broken stage fails within seconds. Exit code 0 means the run succeeded.
    """
    init_airflow(settings)
    env = airflow_env(settings)
    env["NIGHTSHIFT_RETRY_DELAY_SECONDS"] = str(DAGS_TEST_RETRY_DELAY_SECONDS)
    day = run_date.isoformat() if isinstance(run_date, date) else str(run_date)
    return _run_airflow(["dags", "test", DAG_ID, day], settings, env=env, capture_output=capture_output, text=True)
