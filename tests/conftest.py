"""Shared fixtures.

The embedded engine opens ONE warehouse directory per process, so every in-process warehouse test shares the
session's installation (`nightshift_home`). Tests that need a fresh installation run the work in a subprocess
with their own NIGHTSHIFT_HOME (see `run_cli`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Real datasets live in `shared/` beside the repository (CI clones the repo next to it).
SHARED_DIR = Path(os.environ.get("NIGHTSHIFT_SHARED_DIR", REPO_ROOT.parent / "shared"))
CDNOW_FILE = SHARED_DIR / "datasets" / "cdnow" / "CDNOW_master.txt"
# Every Spark job in the tests is small: there the JIT's C2 compiler costs more CPU than it saves (settings.py). C1
# alone gets the non-tiered 48 MB code cache, which five nights in one JVM filled ("CodeCache is full", then a failed
# job): keep the tiered default's 240 MB.
TEST_SPARK_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
# The suite runs two workers on two cores, so each dbt run has about one core: there several dbt threads only
# contend (three dbt-heavy modules side by side: 197 s at one thread, 216 s at four). The stock `dbt build` test
# (tests/dbt/test_build.py) still builds with profiles.yml's four.
TEST_DBT_THREADS = "1"


@pytest.fixture(scope="session")
def nightshift_home(tmp_path_factory) -> Path:
    """One isolated installation for this pytest process (warehouse, lake, landing, exports...)."""
    home = tmp_path_factory.mktemp("nightshift-home")
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    for variable in (
        "NIGHTSHIFT_CLICKHOUSE_URL",
        "NIGHTSHIFT_LAKE",
        "NIGHTSHIFT_LANDING",
        "NIGHTSHIFT_EXPORTS",
        "NIGHTSHIFT_REPORTS",
    ):
        os.environ.pop(variable, None)
    os.environ.setdefault("NIGHTSHIFT_SPARK_UI", "false")
    os.environ.setdefault("NIGHTSHIFT_SPARK_JAVA_OPTIONS", TEST_SPARK_JAVA_OPTIONS)
    os.environ.setdefault("NIGHTSHIFT_DBT_THREADS", TEST_DBT_THREADS)
    return home


@pytest.fixture(scope="session")
def settings(nightshift_home):
    from nightshift.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def client(settings):
    """The session's warehouse client (embedded engine in the session home)."""
    from nightshift.warehouse import ensure_databases, get_client

    warehouse_client = get_client(settings)
    ensure_databases(warehouse_client)
    return warehouse_client


@pytest.fixture(scope="session")
def spark(settings):
    """A local Spark session, UI off, shared by the whole test session."""
    from nightshift.spark import get_spark

    session = get_spark("nightshift-tests", settings)
    yield session
    session.stop()


# Synthetic marts (bench/synthetic/segment_marts.py: the real profile columns and tag vocabularies, random people)
# that the segment tests read, built once per session in their own database. Tests only read them; a test that
# changes marts builds its own.
SYNTHETIC_MARTS_DATABASE = "synthetic_marts"
SYNTHETIC_MARTS_PEOPLE = 3_000


@pytest.fixture(scope="session")
def synthetic_marts(client) -> str:
    """The database holding the session's shared synthetic marts (user_profile, user_tags, tag_bitmaps)."""
    from bench.synthetic.segment_marts import create_synthetic_marts

    create_synthetic_marts(client, SYNTHETIC_MARTS_DATABASE, SYNTHETIC_MARTS_PEOPLE)
    return SYNTHETIC_MARTS_DATABASE


# Running the suite on several processes (`make test`: pytest-xdist `-n auto --dist loadfile`). Each file runs whole
# on one worker, so its module fixtures are built once. The files that use the `nightly_world` session fixture (a
# generated world and a whole night, minutes to build) also share one worker, so the world is built once per run, not
# once per worker. xdist's own `loadgroup` cannot express this with pytest 9.2 (its group marks are lost:
# pytest-dev/pytest-xdist#1386), hence the scheduler below.
NIGHTLY_WORLD_FILES = frozenset({
    "tests/dbt/test_profile_contract.py",
    "tests/reporting/test_report_e2e.py",
    "tests/segments/test_lookalike.py",
    "tests/test_pipeline_e2e.py",
    "tests/uploads/test_uploads.py",
})  # fmt: skip
# The longest work (several minutes each, measured) starts first, so that it does not finish last.
START_FIRST = ("tests/stages/test_reconcile_nights.py", "nightly_world")


def _worker_group(path: str) -> str:
    return "nightly_world" if path in NIGHTLY_WORLD_FILES else path


def _file_of(item) -> str:
    return item.nodeid.split("::")[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedWorldScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _worker_group(super()._split_scope(nodeid))

    return SharedWorldScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Check that every file using `nightly_world` is listed, and put the longest work first, then files with slow
    tests (the workers hand their collection order to the scheduler: `--no-loadscope-reorder` keeps it)."""
    unlisted = sorted({_file_of(item) for item in items if "nightly_world" in item.fixturenames} - NIGHTLY_WORLD_FILES)
    if unlisted:
        raise pytest.UsageError(
            f"{', '.join(unlisted)} use(s) the nightly_world fixture but is not in NIGHTLY_WORLD_FILES "
            "(tests/conftest.py): add it there, so that the world is built once when the suite runs on several workers."
        )
    slow_groups = {_worker_group(_file_of(item)) for item in items if item.get_closest_marker("slow")}

    def start_rank(item) -> int:
        group = _worker_group(_file_of(item))
        if group in START_FIRST:
            return START_FIRST.index(group)
        return len(START_FIRST) + (group not in slow_groups)

    items.sort(key=start_rank)  # stable: within a rank, files keep their order


# The generated world most end-to-end tests share (built once per session, in its own installation).
NIGHTLY_WORLD_START = "2026-11-19"
NIGHTLY_WORLD_RUN_DATE = "2026-11-20"  # the second day: identity and tags see two days of history
NIGHTLY_WORLD_USERS = 1000


@pytest.fixture(scope="session")
def nightly_world(tmp_path_factory) -> Path:
    """A fresh installation where 1,000 generated people's two days of drops were ingested and the whole
    nightly pipeline then ran for the second day. Tests only read it, or re-run the same date (idempotent)."""
    home = tmp_path_factory.mktemp("nightly-world")
    run_cli(home, "generate", "--users", str(NIGHTLY_WORLD_USERS), "--days", "2", "--start-date",
            NIGHTLY_WORLD_START, "--seed", "7")  # fmt: skip
    run_cli(home, "ingest", "--date", NIGHTLY_WORLD_START)
    run_cli(home, "run", "--date", NIGHTLY_WORLD_RUN_DATE, timeout=1200)
    return home


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a subprocess with its own installation rooted at `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIGHTSHIFT_", "AIRFLOW"))}
    env.update({"NIGHTSHIFT_HOME": str(home), "NIGHTSHIFT_SPARK_UI": "false",
                "NIGHTSHIFT_SPARK_JAVA_OPTIONS": TEST_SPARK_JAVA_OPTIONS, "NIGHTSHIFT_DBT_THREADS": TEST_DBT_THREADS,
                **extra})  # fmt: skip
    return env


def run_python(home: Path, code: str, *args: str, timeout: float = 600) -> str:
    """Run a Python snippet in a subprocess against the installation at `home` (this pytest process may hold
    another embedded warehouse); return its stdout, or fail with the end of its output."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=isolated_env(home),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"subprocess failed ({completed.returncode})\nstdout:\n{completed.stdout[-4000:]}\n"
            f"stderr:\n{completed.stderr[-6000:]}"
        )
    return completed.stdout


def run_cli(home: Path, *args: str, check: bool = True, timeout: float = 600, **extra_env: str):
    """Run `nightshift ARGS` in a subprocess against the installation at `home`."""
    completed = subprocess.run(
        [str(VENV_BIN / "nightshift"), *args],
        env=isolated_env(home, **extra_env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"nightshift {' '.join(args)} exited {completed.returncode}\n"
            f"stdout:\n{completed.stdout[-4000:]}\nstderr:\n{completed.stderr[-4000:]}"
        )
    return completed
