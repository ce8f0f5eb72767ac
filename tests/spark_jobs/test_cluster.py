"""Scale-out: the segments stage on a Spark standalone cluster (master + worker started from pyspark's own jars).

One cluster start, one Spark application: a subprocess (the session's Spark fixture is local, and its warehouse is
another directory) builds synthetic marts in a fresh installation, runs the nightly segments stage with
NIGHTSHIFT_SPARK_MASTER=spark://127.0.0.1:<port>, then the standalone audience job's main() on the stage's lake
outputs, and reports what the test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from nightshift.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
RUN_DATE = date(2026, 11, 20)
PEOPLE = 1_000
STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spark_env(work: Path) -> dict[str, str]:
    import pyspark

    from nightshift.spark import _ensure_java_home

    _ensure_java_home()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIGHTSHIFT_")}
    env.update(
        SPARK_HOME=str(Path(pyspark.__file__).parent),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(work / "logs"),
        SPARK_WORKER_DIR=str(work / "worker"),
        # executors must run the venv's interpreter (same locked packages as the driver)
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        NIGHTSHIFT_HOME=str(work / "home"),
    )
    return env


def _alive_workers(web_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and one worker on 127.0.0.1 with free ports; stopped (by pid) in teardown."""
    work = tmp_path_factory.mktemp("spark-cluster")
    env = _spark_env(work)
    spark_class = str(Path(env["SPARK_HOME"]) / "bin" / "spark-class")
    port, web_port = _free_port(), _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    log = (work / "cluster.log").open("wb")
    processes = [
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(web_port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ]
    processes.append(
        subprocess.Popen(
            [
                spark_class,
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--cores",
                "2",
                "--memory",
                "2g",
                "--webui-port",
                str(_free_port()),
                master_url,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while _alive_workers(web_port) < 1:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                pytest.fail(f"standalone cluster did not start; see {work / 'cluster.log'}")
            time.sleep(1)
        yield master_url, env, work
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


# Runs in a subprocess whose NIGHTSHIFT_HOME is fresh and whose Spark master is the cluster: synthetic marts, the
# whole segments stage (segments + campaign audiences), then the standalone audience job's main() on the stage's
# lake outputs; prints what the test checks as JSON (the warehouse is locked by that process while it runs).
DRIVER = """
import json, sys
from datetime import date
from pyspark.sql import SparkSession
from bench.synthetic.segment_marts import create_synthetic_marts
from nightshift.stages.context import StageContext
from nightshift.segments import validate_all
from nightshift.segments.bitmaps import clickhouse_sql
from nightshift.segments.files import SEGMENTS_DIR
from nightshift.settings import get_settings
from nightshift.stages import audiences
from nightshift.stages import segments as stage
from nightshift.warehouse import ensure_databases, get_client

run_date, people, out = date.fromisoformat(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
settings = get_settings()
client = get_client(settings)
ensure_databases(client)
create_synthetic_marts(client, "marts", people)
ctx = StageContext(run_date=run_date, settings=settings, _client=client)
result = stage.run(ctx)
audiences.run(ctx)
spark = SparkSession.getActiveSession()
q = lambda sql: client.query(sql, settings={"join_use_nulls": 1}).result_rows
report = {
    "master": spark.sparkContext.master,
    "summary": result.summary,
    "spark": {s: n for s, n in q("SELECT segment, count() FROM audience.segment_membership GROUP BY segment")},
    "clickhouse": {d.name: q(f"SELECT uniqExact(one_id) FROM ({clickhouse_sql(d)})")[0][0]
                   for d in validate_all(SEGMENTS_DIR, client).valid},
    "audience": sorted(q("SELECT campaign_id, one_id, variant, channel FROM audience.campaign_audience")),
    "exclusions": sorted(q("SELECT campaign_id, one_id, reason FROM audience.exclusions")),
    "unreachable": q("SELECT count() FROM audience.campaign_audience AS a INNER JOIN marts.user_profile AS p "
                     "ON p.one_id = a.one_id WHERE (a.channel = 'sms' AND p.can_receive_sms = 0) "
                     "OR (a.channel = 'app_push' AND p.can_receive_app_push = 0)")[0][0],
    "profile": result.outputs["user_profile_parquet"],
    "membership": result.outputs["membership_parquet"],
}
json.dump(report, open(out, "w"), default=str)
"""


def test_segments_stage_runs_on_a_standalone_cluster(cluster):
    """One cluster start; one Spark application runs the segments and audiences stages, then the audience job's main()
    in the same session."""
    master_url, env, work = cluster
    env = {**env, "NIGHTSHIFT_SPARK_MASTER": master_url, "NIGHTSHIFT_SPARK_UI": "false"}
    out = work / "report.json"
    audience_out, exclusions_out = work / "job_audience", work / "job_exclusions"
    script = (
        DRIVER
        + f"""
from spark_jobs.audience import main
main(["--run-date", sys.argv[1], "--profile", report["profile"], "--membership", report["membership"],
      "--plans", "{PROJECT_ROOT / "segments" / "campaigns"}", "--policy", "{PROJECT_ROOT / "segments" / "policy.yml"}",
      "--audience-out", "{audience_out}", "--exclusions-out", "{exclusions_out}"])
"""
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, RUN_DATE.isoformat(), str(PEOPLE), str(out)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["master"] == master_url

    # every shipped segment: the same members as ClickHouse, computed on the cluster
    assert report["spark"] == report["clickhouse"] and len(report["spark"]) >= 6

    audience = {(c, i): (v, ch) for c, i, v, ch in report["audience"]}
    excluded = {(c, i): r for c, i, r in report["exclusions"]}
    assert audience and excluded and not set(audience) & set(excluded)
    assert {c for c, _ in audience} == {
        "winback_lapsed",
        "phone_bind_nudge",
        "vip_care_call",
        "trade_in_push",
        "ios_reactivation",
    }
    assert report["unreachable"] == 0
    assert all((variant == "holdout") == (channel == "") for variant, channel in audience.values())

    # the standalone job's main(), on the stage's own inputs, decides exactly what the stage decided
    job_audience = pq.read_table(audience_out).to_pylist()
    job_exclusions = pq.read_table(exclusions_out).to_pylist()
    assert {(r["campaign_id"], r["one_id"]): (r["variant"], r["channel"]) for r in job_audience} == audience
    assert {(r["campaign_id"], r["one_id"]): r["reason"] for r in job_exclusions} == excluded
    shutil.rmtree(work / "worker", ignore_errors=True)
