"""The nightly DAG end to end through Airflow: `airflow dags test nightly_marketing <date>` on a generated world.

Everything runs in a separate installation (its own NIGHTSHIFT_HOME, warehouse and AIRFLOW_HOME). `airflow dags
test` runs the whole DAG run in one process; the warehouse is then read in another subprocess, because this
pytest process may already hold the session's embedded warehouse (one directory per process).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from nightshift import pipeline
from nightshift.airflow_setup import DAG_ID, dags_test
from nightshift.cli.demo import prepare_demo_data
from nightshift.contracts import CHANNELS
from nightshift.settings import Settings
from tests.conftest import run_python

RUN_DATE = date(2026, 11, 19)
DEMO_USERS = 300
LOG_TAIL_LINES = 60
LOG_LINE_CHARS = 400
DAGS_TEST_LOG = "airflow-dags-test.log"

WAREHOUSE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from nightshift.warehouse import get_client
    client = get_client()
    run_date = sys.argv[1]
    statuses = dict(client.query(
        "SELECT stage, argMax(status, finished_at) FROM ops.stage_runs WHERE run_date = {d:Date} GROUP BY stage",
        parameters={"d": run_date}).result_rows)
    raw_rows = {}
    for (table,) in client.query(
            "SELECT name FROM system.tables WHERE database = 'raw' AND name != 'quarantine'").result_rows:
        raw_rows[table] = client.query(
            f"SELECT count() FROM raw.`{table}` WHERE _drop_date = {{d:Date}}", parameters={"d": run_date}
        ).result_rows[0][0]
    print(json.dumps({"statuses": statuses, "raw_rows": raw_rows}))
    """
)


def _tail(text: str | None) -> str:
    """The end of a log, each line cut short (Spark logs whole Java stack traces as one JSON line)."""
    return "\n".join(line[:LOG_LINE_CHARS] for line in (text or "").splitlines()[-LOG_TAIL_LINES:])


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, subprocess.CompletedProcess, float]:
    """Generate landing data for RUN_DATE, then run the DAG once for it through `airflow dags test`."""
    home = tmp_path_factory.mktemp("airflow-e2e")
    # Every location explicit, so no NIGHTSHIFT_* variable of the caller can point the run elsewhere.
    settings = Settings(home=home, clickhouse_url="", lake="", landing=None, exports=None, reports=None, spark_ui=False)
    prepare_demo_data(RUN_DATE, settings, users=DEMO_USERS)
    clock = time.perf_counter()
    completed = dags_test(RUN_DATE, settings, capture_output=True)
    seconds = time.perf_counter() - clock
    (home / DAGS_TEST_LOG).write_text(f"{completed.stdout}\n--- stderr ---\n{completed.stderr}")
    print(f"\nairflow dags test {DAG_ID} {RUN_DATE} (including a fresh `airflow-init`): {seconds:.1f}s")
    return settings, completed, seconds


@pytest.mark.slow
def test_dag_run_succeeds_with_every_task(airflow_run) -> None:
    settings, completed, _ = airflow_run
    assert completed.returncode == 0, (
        f"airflow dags test {DAG_ID} {RUN_DATE} exited {completed.returncode}; whole log in "
        f"{settings.home / DAGS_TEST_LOG}.\nstdout:\n{_tail(completed.stdout)}\nstderr:\n{_tail(completed.stderr)}"
    )
    with sqlite3.connect(settings.airflow_home / "airflow.db") as metadata:
        rows = metadata.execute(
            "SELECT ti.task_id, ti.map_index, ti.state, ti.rendered_map_index FROM task_instance AS ti "
            "JOIN dag_run AS dr ON dr.run_id = ti.run_id AND dr.dag_id = ti.dag_id "
            "WHERE ti.dag_id = ? AND date(dr.logical_date) = ?",
            (DAG_ID, RUN_DATE.isoformat()),
        ).fetchall()
    states = {(task_id, map_index): state for task_id, map_index, state, _ in rows}
    assert set(states.values()) == {"success"}, f"task instances not all successful: {states}"
    ingested_sources = sorted(label for task_id, _, _, label in rows if task_id == "ingest_source")
    assert ingested_sources, "no ingest_source task ran: no landing source was found for the run date"
    assert all(ingested_sources), f"mapped ingest tasks should be labelled by source: {ingested_sources}"
    assert {task_id for task_id, _ in states} >= set(pipeline.NIGHTLY_STAGES[1:])


@pytest.mark.slow
def test_dag_run_loads_and_records_every_stage(airflow_run) -> None:
    settings, completed, _ = airflow_run
    assert completed.returncode == 0, "the DAG run failed; see test_dag_run_succeeds_with_every_task"
    found = json.loads(run_python(settings.home, WAREHOUSE_SCRIPT, RUN_DATE.isoformat()).strip().splitlines()[-1])
    for stage in pipeline.NIGHTLY_STAGES[1:]:
        assert found["statuses"].get(stage) == "success", f"ops.stage_runs for {stage}: {found['statuses']}"
    assert sum(found["raw_rows"].values()) > 0, f"no raw rows for {RUN_DATE}: {found['raw_rows']}"


@pytest.mark.slow
def test_dag_run_writes_exports_with_manifests_and_a_report(airflow_run) -> None:
    settings, completed, _ = airflow_run
    assert completed.returncode == 0, "the DAG run failed; see test_dag_run_succeeds_with_every_task"
    export_dir = settings.exports_dir / RUN_DATE.isoformat()
    manifests = sorted(export_dir.glob("*.manifest.json"))
    assert manifests, f"no export manifest in {export_dir}: {sorted(p.name for p in export_dir.glob('*'))}"
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        exported = export_dir / manifest["file"]
        assert exported.is_file(), f"{manifest_path} names {exported}, which does not exist"
        data = exported.read_bytes()
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest(), f"{manifest_path} does not match {exported}"
        assert manifest["bytes"] == len(data) and manifest["rows"] >= 0
    report_dir = settings.reports_dir / RUN_DATE.isoformat()
    reports = [path for path in report_dir.glob("*") if path.is_file() and path.stat().st_size > 0]
    assert reports, f"no report written under {report_dir}"


SHOW_OUTPUTS_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import date
    from rich.console import Console
    from nightshift.cli.demo import show_outputs
    from nightshift.settings import get_settings
    show_outputs(date.fromisoformat(sys.argv[1]), get_settings(), Console(width=60, color_system=None))
    """
)


@pytest.mark.slow
def test_demo_summary_prints_every_export_manifest_and_the_report_in_full(airflow_run) -> None:
    settings, completed, _ = airflow_run
    assert completed.returncode == 0, "the DAG run failed; see test_dag_run_succeeds_with_every_task"
    shown = run_python(settings.home, SHOW_OUTPUTS_SCRIPT, RUN_DATE.isoformat())
    export_dir = settings.exports_dir / RUN_DATE.isoformat()
    # a narrow terminal must not truncate any path a person needs to open
    assert f"Exports directory: {export_dir}" in shown
    assert f"Report: {settings.reports_dir / RUN_DATE.isoformat() / 'index.html'}" in shown
    for manifest_path in sorted(export_dir.glob("*.manifest.json")):
        assert manifest_path.name in shown
        assert json.loads(manifest_path.read_text())["file"] in shown


@pytest.mark.slow
def test_the_export_task_updates_each_channels_asset_with_its_deliveries(airflow_run) -> None:
    """A delivery DAG scheduled on `nightshift://exports/<channel>` is triggered by the export task's asset event,
    whose extra names the night, the contacts and the sealed folders of that channel."""
    settings, completed, _ = airflow_run
    assert completed.returncode == 0, "the DAG run failed; see test_dag_run_succeeds_with_every_task"
    with sqlite3.connect(settings.airflow_home / "airflow.db") as metadata:
        events = metadata.execute(
            "SELECT a.uri, e.extra FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id"
        ).fetchall()
    extras = {uri.removeprefix("nightshift://exports/"): json.loads(extra) for uri, extra in events}
    export_dir = settings.exports_dir / RUN_DATE.isoformat()
    delivered: dict[str, int] = {}
    for manifest in export_dir.glob("*/*/manifest.json"):
        channel = manifest.parent.name
        if channel in CHANNELS:  # ad audiences (tencent_ads, ocean_engine) are no delivery channel
            delivered[channel] = delivered.get(channel, 0) + json.loads(manifest.read_text())["contacts"]
    assert delivered, f"no sealed delivery under {export_dir}"
    assert {channel: extra["contacts"] for channel, extra in extras.items() if extra} == delivered
    for extra in extras.values():
        if extra:
            assert extra["run_date"] == RUN_DATE.isoformat() and all(Path(f).is_dir() for f in extra["folders"])
