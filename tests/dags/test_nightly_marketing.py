"""The DAGs in dags/: they parse, are wired in pipeline order, and do nothing expensive at parse time.

Airflow reads its configuration once, at import, from AIRFLOW_HOME; so the DAG folder is parsed with a DagBag in
a subprocess that gets the in-repo Airflow environment (`nightshift.airflow_setup.airflow_env`) for a temporary
NIGHTSHIFT_HOME. The subprocess reports what it saw as JSON. It imports only Airflow, never `nightshift`, so
any `nightshift` (or pandas, pyspark, chdb...) module loaded there was loaded by parsing the DAG files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nightshift import pipeline
from nightshift.airflow_setup import (
    DAG_ID,
    DAGS_FOLDER,
    PLUGINS_FOLDER,
    WAREHOUSE_POOL,
    airflow_env,
    warehouse_pool_slots,
)
from nightshift.errors import NightshiftError
from nightshift.settings import Settings
from tests.conftest import run_python

# Modules whose import means parse-time work: a warehouse client, a dataframe library, the project itself...
PARSE_TIME_FORBIDDEN = ("chdb", "clickhouse_connect", "pandas", "pyarrow", "pyspark", "dbt", "sqlglot", "nightshift")
# ...except the light modules that give the DAG the stage order (nightshift.pipeline imports no stage at import).
PARSE_TIME_ALLOWED = ("nightshift", "nightshift.errors", "nightshift.pipeline", "nightshift.stages",
                      "nightshift.stages.context", "nightshift.contracts")  # fmt: skip
MAPPED_INGEST_TASK = "ingest_source"
LIST_SOURCES_TASK = "list_sources"
MIN_RETRIES = 2
MIN_RETRY_DELAY_SECONDS = 60  # scheduled runs wait long enough for a transient problem to clear

PARSE_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

dag_folder, forbidden, allowed = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
bag = DagBag(dag_folder=dag_folder)
report = {
    "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
    "loaded_forbidden": sorted(name for name in sys.modules if name.split(".")[0] in forbidden and name not in allowed),
    "dags": {},
}
for dag_id, dag in bag.dags.items():
    report["dags"][dag_id] = {
        "tags": sorted(dag.tags),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "timetable": type(dag.timetable).__name__,
        "schedule_assets": sorted(getattr(asset, "uri", "") for asset in
                                  getattr(getattr(dag.timetable, "asset_condition", None), "objects", ())),
        "has_doc_md": bool(dag.doc_md and dag.doc_md.strip()),
        "tasks": {
            task.task_id: {
                "retries": task.retries,
                "retry_delay_seconds": task.retry_delay.total_seconds(),
                "pool": task.pool,
                "trigger_rule": getattr(task.trigger_rule, "value", task.trigger_rule),
                "upstream": sorted(task.upstream_task_ids),
                "downstream": sorted(task.downstream_task_ids),
                "is_mapped": bool(getattr(task, "is_mapped", False)),
                "outlets": sorted(getattr(outlet, "uri", str(outlet)) for outlet in task.outlets),
            }
            for task in dag.tasks
        },
    }
print("PARSE-REPORT " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def parse_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dags-parse-home")


@pytest.fixture(scope="module")
def parse_report(parse_home: Path) -> dict:
    """Parse dags/ in a fresh Airflow process pointed at an embedded warehouse that must stay untouched."""
    settings = Settings(home=parse_home, clickhouse_url=f"chdb://{parse_home / 'warehouse'}")
    env = airflow_env(settings)
    env.pop("NIGHTSHIFT_RETRY_DELAY_SECONDS", None)  # parse as the scheduler does, not as `dags test` does
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            PARSE_SCRIPT,
            str(DAGS_FOLDER),
            ",".join(PARSE_TIME_FORBIDDEN),
            ",".join(PARSE_TIME_ALLOWED),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("PARSE-REPORT ")]
    assert completed.returncode == 0 and lines, (
        f"Parsing {DAGS_FOLDER} in a subprocess failed (exit {completed.returncode}):\n{completed.stderr[-4000:]}"
    )
    return json.loads(lines[-1].removeprefix("PARSE-REPORT "))


@pytest.fixture(scope="module")
def nightly(parse_report: dict) -> dict:
    assert DAG_ID in parse_report["dags"], f"DAG {DAG_ID!r} not found; DAGs parsed: {sorted(parse_report['dags'])}"
    return parse_report["dags"][DAG_ID]


def test_dags_folder_has_no_import_errors(parse_report: dict) -> None:
    assert parse_report["import_errors"] == {}


def test_every_dag_is_tagged_and_documented(parse_report: dict) -> None:
    for dag_id, dag in parse_report["dags"].items():
        assert dag["tags"], f"DAG {dag_id} has no tags"
        assert dag["has_doc_md"], f"DAG {dag_id} has no doc_md"


def test_nightly_dag_schedule(nightly: dict) -> None:
    assert {"nightshift", "marketing"} <= set(nightly["tags"])
    assert nightly["catchup"] is False
    assert nightly["max_active_runs"] == 1
    # Data-interval semantics make `ds` the day that just ended, the partition the stages process.
    assert nightly["timetable"] == "CronDataIntervalTimetable"


def test_every_task_retries_with_a_delay(parse_report: dict) -> None:
    for dag_id, dag in parse_report["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= MIN_RETRIES, f"{dag_id}.{task_id} retries {task['retries']} < {MIN_RETRIES}"
            assert task["retry_delay_seconds"] >= MIN_RETRY_DELAY_SECONDS, f"{dag_id}.{task_id} retries too soon"


def test_tasks_run_in_pipeline_order(nightly: dict) -> None:
    tasks = nightly["tasks"]
    # The ingest stage is a source listing plus one mapped task per source; every other stage is one task.
    expected = [LIST_SOURCES_TASK, MAPPED_INGEST_TASK, *pipeline.NIGHTLY_STAGES[1:]]
    assert pipeline.STAGES[0] == "ingest"
    assert "deliver" not in tasks, "deliver runs in the channel_delivery DAG, on the export Assets"
    assert sorted(tasks) == sorted(expected)
    for before, after in zip(expected, expected[1:], strict=False):
        assert tasks[before]["downstream"] == [after], f"{before} should lead only to {after}"
        assert tasks[after]["upstream"] == [before], f"{after} should wait only for {before}"
    # With no landing files nothing is mapped (skipped): the rest of the night still runs, but not after a failure.
    assert tasks[pipeline.NIGHTLY_STAGES[1]]["trigger_rule"] == "none_failed"
    assert {tasks[stage]["trigger_rule"] for stage in pipeline.NIGHTLY_STAGES[2:]} == {"all_success"}
    assert tasks[MAPPED_INGEST_TASK]["is_mapped"]
    assert not any(task["is_mapped"] for task_id, task in tasks.items() if task_id != MAPPED_INGEST_TASK)


def test_the_export_task_updates_one_asset_per_delivery_channel(nightly: dict) -> None:
    from nightshift.contracts import CHANNELS

    expected = sorted(f"nightshift://exports/{channel}" for channel in CHANNELS)
    assert nightly["tasks"]["export"]["outlets"] == expected
    assert all(not task["outlets"] for task_id, task in nightly["tasks"].items() if task_id != "export")


def test_warehouse_tasks_share_the_one_slot_pool(nightly: dict) -> None:
    warehouse_tasks = [MAPPED_INGEST_TASK, *pipeline.NIGHTLY_STAGES[1:]]  # every stage opens the warehouse
    for task_id in warehouse_tasks:
        assert nightly["tasks"][task_id]["pool"] == WAREHOUSE_POOL, f"{task_id} is outside pool {WAREHOUSE_POOL}"


def test_channel_delivery_runs_the_deliver_stage_on_the_export_assets(parse_report: dict) -> None:
    from nightshift.contracts import API_CHANNELS
    from nightshift.deliveries.api import CLIENTS

    delivery = parse_report["dags"]["channel_delivery"]
    assert delivery["timetable"] == "AssetTriggeredTimetable"
    assert delivery["schedule_assets"] == sorted(f"nightshift://exports/{channel}" for channel in API_CHANNELS)
    assert set(API_CHANNELS) == set(CLIENTS), "every channel with an API client is scheduled, and only those"
    assert list(delivery["tasks"]) == ["deliver"]
    assert delivery["tasks"]["deliver"]["pool"] == WAREHOUSE_POOL
    assert pipeline.ASSET_SCHEDULED_STAGES == ("deliver",)


def test_every_listed_stage_has_a_module_with_run() -> None:
    assert all(callable(pipeline.stage_runner(stage)) for stage in pipeline.STAGES)
    with pytest.raises(NightshiftError, match="Unknown stage 'segment'; stages are, in order: ingest, identity"):
        pipeline.stage_runner("segment")


def test_running_one_stage_imports_no_other_stage(tmp_path: Path) -> None:
    # an Airflow task or `nightshift run --stages ingest` loads its own stage, not the report's statistics (scipy)
    loaded = run_python(
        tmp_path / "home",
        "import sys; from nightshift import pipeline; pipeline.stage_runner('ingest'); "
        "print(sorted(m for m in sys.modules if m.startswith('nightshift.stages.')), 'scipy' in sys.modules)",
    )
    assert loaded.strip().splitlines()[-1] == str(["nightshift.stages.context", "nightshift.stages.ingest"]) + " False"


def test_parsing_opens_no_warehouse_and_imports_nothing_heavy(parse_report: dict, parse_home: Path) -> None:
    assert parse_report["loaded_forbidden"] == [], "DAG parsing imported modules it must import inside tasks"
    assert not (parse_home / "warehouse").exists(), "DAG parsing created or opened the warehouse directory"


# The Airflow home the DAG runs in (nightshift.airflow_setup); cheap, no Airflow process involved.


def test_airflow_env_points_airflow_at_the_repo_and_the_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    env = airflow_env(settings)
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) == DAGS_FOLDER
    assert (DAGS_FOLDER / "nightly_marketing.py").is_file()
    assert Path(env["AIRFLOW__CORE__PLUGINS_FOLDER"]) == PLUGINS_FOLDER
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path}/airflow/airflow.db"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    # dbt's adapter package lives under plugins/ but is no Airflow plugin: Airflow must not import it.
    assert "dbt-nightshift/" in (PLUGINS_FOLDER / ".airflowignore").read_text().splitlines()


def test_airflow_env_carries_the_settings_to_task_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path, spark_master="local[1]", spark_ui=True, exports=tmp_path / "out")
    monkeypatch.setenv("NIGHTSHIFT_LANDING", "/somebody/elses/landing")  # must not leak into the tasks
    env = airflow_env(settings)
    for name in [name for name in os.environ if name.startswith("NIGHTSHIFT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("NIGHTSHIFT_"):
            monkeypatch.setenv(name, value)
    assert Settings() == settings


def test_pool_has_one_slot_only_for_the_embedded_warehouse(tmp_path: Path) -> None:
    assert warehouse_pool_slots(Settings(home=tmp_path)) == 1
    assert warehouse_pool_slots(Settings(home=tmp_path, clickhouse_url="http://default@localhost:8123")) >= 2
