"""`python -m bench` reads as tables (issue 14): one row per stage with the machine's load beside it, the night's
total without generation, and the machine; benches that run dbt run it quietly (its node-by-node log goes to
the installation's dbt.log, errors still print). A small world through ingestion only; nothing is timed here."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO_ROOT, isolated_env

LOAD = r"\d+\.\d \d+\.\d \d+\.\d"


def test_pipeline_bench_prints_a_table_per_stage_with_the_load(tmp_path):
    home = tmp_path / "bench-home"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--users", "300", "--areas", "pipeline", "--stages", "ingest",
         "--home", str(home)],
        env={**isolated_env(home), "COLUMNS": "160"}, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = completed.stdout
    assert completed.returncode == 0, completed.stderr[-3000:]
    for step in ("generate (1 day)", "ingest", "night (stages, without generation)"):
        assert re.search(rf"│ {re.escape(step)}\s+│ \d+\.\d\s+│.*│ {LOAD}\s+│", output), (step, output[-3000:])
    assert not re.search(r"│ (identity|build|audiences)\s", output)  # only the stages asked for
    assert re.search(r"machine: \w+, \d+ cores, \d+ GiB", output)


def test_pipeline_bench_copies_a_smaller_worlds_raw_tables_to_the_scale_asked_for(tmp_path):
    """`--base-users`: the scale the generator cannot reach in one process (bench/replicated_world.py)."""
    home = tmp_path / "bench-home"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--users", "600", "--base-users", "200", "--areas", "pipeline",
         "--stages", "ingest", "--home", str(home)],
        env={**isolated_env(home), "COLUMNS": "160"}, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = completed.stdout
    assert completed.returncode == 0, completed.stderr[-3000:]
    for step in ("generate (1 day, 200 people)", "ingest (200 people)", "copy raw tables x3",
                 "night (stages, without generation and copies)"):  # fmt: skip
        assert re.search(rf"│ {re.escape(step)}\s+│ \d+\.\d\s+│.*│ {LOAD}\s+│", output), (step, output[-3000:])
    copied = int(re.search(r"raw tables copied 3 times .*: \d+ tables, ([\d,]+) rows", output)[1].replace(",", ""))
    ingested = int(re.search(r"│ ingest \(200 people\)\s+│ [\d.]+\s+│ ([\d,]+)", output)[1].replace(",", ""))
    assert copied == 3 * ingested  # every loaded raw table describes people: each is copied three times


def test_pipeline_bench_refuses_a_world_too_big_to_generate_and_says_what_to_do(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--users", "1000000000", "--areas", "pipeline", "--home", str(tmp_path)],
        env=isolated_env(tmp_path), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 1
    assert re.search(r"generating 1,000,000,000 people needs about 2300 GB .*--base-users [\d,]+", completed.stderr)
    assert not (tmp_path / "landing").exists() or not any((tmp_path / "landing").iterdir())  # refused before work
    for base in ("0", "2000"):  # a base world of nobody, or bigger than the world asked for
        refused = subprocess.run(
            [sys.executable, "-m", "bench", "--users", "1000", "--base-users", base, "--home", str(tmp_path)],
            env=isolated_env(tmp_path), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert refused.returncode == 2 and f"--base-users must be between 1 and --users (1,000); got {int(base):,}" in (
            refused.stderr
        ), refused.stderr


def test_benches_that_run_dbt_run_it_quietly_and_importing_them_changes_nothing(tmp_path):
    """The pipeline, profile-build and tags benches call `quiet_dbt()` in their `main`; importing a bench (the
    tests do) must leave the environment alone, or every later `dbt` subprocess of the suite would print nothing."""
    code = """
import inspect, os
import bench, bench.__main__, bench.profile_build, bench.tags
assert "DBT_QUIET" not in os.environ, "importing a bench set DBT_QUIET"
for module in (bench.__main__, bench.profile_build, bench.tags):
    assert "quiet_dbt()" in inspect.getsource(module.main), module.__name__
bench.quiet_dbt()
print(os.environ["DBT_QUIET"])
"""
    env = {k: v for k, v in isolated_env(tmp_path).items() if k != "DBT_QUIET"}
    completed = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.stdout.strip() == "true", completed.stderr[-2000:]


def test_ingest_bench_prints_the_real_path_beside_the_bare_engine_for_json_and_gbk_csv(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "2000"],
        env={**isolated_env(tmp_path / "home"), "COLUMNS": "200"}, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    rate = r"[\d,]+"
    for file in ("JSON lines", "CSV"):
        # real s, real rec/s, bare s, bare rec/s, real / bare, CPU s real / bare (ratio), goal (met or not)
        seconds = r"\d+\.\d\d"
        row = (
            rf"│ {file}.*│ {seconds}\s+│ {rate}\s+│ {seconds}\s+│ {rate}\s+│ {seconds}\s+"
            rf"│ {seconds} / {seconds} \({seconds}\)\s+│ {rate} \((not )?met\)"
        )
        assert re.search(row, completed.stdout), completed.stdout[-3000:]
    # ... and where the real path's time went, step by step (the records of nightshift.ingest.load.timed)
    breakdown = completed.stdout[completed.stdout.index("Where the real path's time goes") :]
    steps = re.findall(r"│ [^│]*│ ([a-z ,]+?)\s+│ (\d+\.\d\d)\s+│ (-?\d+\.\d\d)\s+│ (-?\d+)%\s+│", breakdown)
    names = [name for name, *_ in steps]
    for step in ("list and hash files", "read lines", "read csv lines", "parse, convert, check and route", "publish",
                 "quarantine, registry and summary"):  # fmt: skip
        assert step in names, breakdown
    assert names.count("outside the timed steps") == 2, breakdown  # one per format
