"""`python -m bench` reads as tables (issue 14): one row per stage with the machine's load beside it, the night's
total without generation, and the machine; dbt runs quietly in every bench process (its node-by-node log goes to
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


def test_every_bench_process_runs_dbt_quietly(tmp_path):
    code = "import os, bench.reconcile; print(os.environ.get('DBT_QUIET'))"
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
        # real s, real rec/s, bare s, bare rec/s, real / bare, goal (met or not)
        row = rf"│ {file}.*│ \d+\.\d\d\s+│ {rate}\s+│ \d+\.\d\d\s+│ {rate}\s+│ \d+\.\d\d\s+│ {rate} \((not )?met\)"
        assert re.search(row, completed.stdout), completed.stdout[-3000:]
