"""dbt on Nightshift's warehouse: the stock `dbt build` CLI through the `nightshift` adapter, and the build stage.

Each test uses its own embedded warehouse and touches it only from subprocesses (the engine allows one process
per directory, and this pytest process may hold another one). The raw data covers the edge cases of the profile:
a user without a phone, a user delivered again on a later day and once more after the run date, a user
delivered twice on the same day, a person with two app accounts, and an identity link first seen after the run
date.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from nightshift.dbt_runner import DbtOutcome, NodeOutcome, artifact_run_date, invoke_dbt
from nightshift.errors import NightshiftError
from nightshift.settings import Settings
from tests.conftest import REPO_ROOT, TEST_DBT_THREADS, VENV_BIN, isolated_env, run_python

RUN_DATE = "2026-11-21"
SUBPROCESS_TIMEOUT = 300

SEED_CODE = """
from nightshift.warehouse.schema import ensure_tables, raw_table_ddl
from nightshift.sources.app import USERS
from nightshift.warehouse import ensure_databases, get_client

client = get_client()
ensure_databases(client)
client.command(raw_table_ddl(USERS))  # exactly the table ingestion creates
ensure_tables(client, "identity.identity_map_daily")  # exactly the table the identity stage writes
client.command('''
INSERT INTO raw.app__users (user_id, phone, phone_original, os, register_time, register_time_original,
    update_time, _drop_date, _batch_id, _source_file, _line_number, _ingested_at, _is_late, _extra)
SELECT c1, c2, c3, c4, parseDateTime64BestEffort(c5, 3, 'UTC'), c6, parseDateTime64BestEffort(c5, 3, 'UTC'),
       c7, 'batch-' || toString(c7), 'app/' || toString(c7) || '/users.jsonl', c8,
       toDateTime64(c7, 3, 'UTC') + INTERVAL 1 HOUR, 0, ''
FROM values(
    'c1 String, c2 Nullable(String), c3 String, c4 Nullable(String), c5 Nullable(String), c6 String, c7 Date,
     c8 UInt64',
    ('u1', '+8613800138001', '13800138001', 'iOS', '2026-11-01 08:00:00', '2026-11-01T08:00:00Z', '2026-11-20', 2),
    ('u2', NULL, '', 'android', '2026-11-02 09:00:00', '1762074000', '2026-11-20', 3),
    ('u5', '+8613700137005', '13700137005', NULL, '2026-11-01 00:00:00', '', '2026-11-20', 5),
    ('u1', '+8613800138009', '138 0013 8009', 'ios', '2026-11-01 08:00:00', '2026-11-01', '2026-11-21', 2),
    ('u3', '+8613900139003', '13900139003', 'HarmonyOS', '2026-11-03 10:00:00', '', '2026-11-21', 4),
    ('u3', '+8613900139004', '13900139004', 'HarmonyOS', '2026-11-03 10:00:00', '', '2026-11-21', 7),
    ('u1', '+8613800138010', '13800138010', 'ios', '2026-11-01 08:00:00', '', '2026-11-22', 1),
    ('u4', '+8613600136004', '13600136004', 'android', '2026-11-22 07:00:00', '', '2026-11-22', 2)
)''')
client.command('''
INSERT INTO identity.identity_map_daily
SELECT toDate('2026-11-21') AS run_date, * FROM values(
    'one_id UInt64, id_type String, id_value String, first_seen_date Date, last_seen_date Date',
    (1, 'app_user_id', 'u1', '2026-11-20', '2026-11-22'), (1, 'phone', '+8613800138001', '2026-11-20', '2026-11-20'),
    (1, 'phone', '+8613800138009', '2026-11-21', '2026-11-21'),
    (1, 'phone', '+8613800138010', '2026-11-22', '2026-11-22'),
    (2, 'app_user_id', 'u2', '2026-11-20', '2026-11-21'),
    (3, 'app_user_id', 'u3', '2026-11-21', '2026-11-21'), (3, 'app_user_id', 'u5', '2026-11-20', '2026-11-20'),
    (3, 'phone', '+8613900139003', '2026-11-21', '2026-11-21'),
    (3, 'phone', '+8613900139004', '2026-11-21', '2026-11-21'),
    (3, 'phone', '+8613700137005', '2026-11-20', '2026-11-20'),
    (4, 'app_user_id', 'u4', '2026-11-22', '2026-11-22'))''')
"""

# Datetimes as text: the embedded engine's client returns them without their zone.
PROFILE_QUERY = (
    "SELECT one_id, app_user_id, phone, os, toString(registered_at) AS registered_at, has_phone, "
    "toString(profile_date) AS profile_date FROM marts.user_profile ORDER BY one_id"
)

EXPECTED_PROFILE = [
    # the phone most recently seen on or before the run date; the one first seen on 2026-11-22 is not visible yet
    {"one_id": 1, "app_user_id": "u1", "phone": "+8613800138009", "os": "ios",
     "registered_at": "2026-11-01 08:00:00.000", "has_phone": True, "profile_date": RUN_DATE},
    {"one_id": 2, "app_user_id": "u2", "phone": "", "os": "android",
     "registered_at": "2026-11-02 09:00:00.000", "has_phone": False, "profile_date": RUN_DATE},
    # of two app accounts, the most recently seen one; of two phones seen the same day, the smaller value
    {"one_id": 3, "app_user_id": "u3", "phone": "+8613900139003", "os": "harmonyos",
     "registered_at": "2026-11-03 10:00:00.000", "has_phone": True, "profile_date": RUN_DATE},
]  # fmt: skip

INSPECT_CODE = f"""
import json
from nightshift.warehouse import get_client

client = get_client()
profile = client.query({PROFILE_QUERY!r}).named_results()
tables = client.query(
    "SELECT database, name, engine, sorting_key FROM system.tables "
    "WHERE database IN ('default', 'staging', 'intermediate', 'marts') ORDER BY database, name"
).named_results()
print(json.dumps({{"profile": list(profile), "tables": list(tables)}}))
"""

IN_PROCESS_BUILD_CODE = f"""
import json
import os
from datetime import date

from nightshift.errors import NightshiftError
from nightshift.stages.context import StageContext
from nightshift.settings import get_settings
from nightshift.stages import build

ctx = StageContext(run_date=date.fromisoformat({RUN_DATE!r}), settings=get_settings())
working_dir = os.getcwd()
first = build.run(ctx)
assert os.getcwd() == working_dir, "the build stage changed the working directory"
target = ctx.settings.home / "dbt" / "target"
first_results = json.loads((target / "run_results.json").read_text())
first_profile = list(ctx.client.query({PROFILE_QUERY!r}).named_results())
dbt_log = ctx.settings.home / "dbt" / "logs" / "dbt.log"
def log_levels():
    levels = {{"debug": 0, "info": 0}}
    for line in dbt_log.read_text().splitlines():
        for level in levels:
            levels[level] += f"[{{level:<5}}]" in line
    return levels
file_log = {{"nightly": log_levels()}}
second = build.run(ctx)
second_profile = list(ctx.client.query({PROFILE_QUERY!r}).named_results())

# The models' unit tests, which the nightly build leaves out: here they run, every one of them, on the built models.
from nightshift.dbt_runner import invoke_dbt
unit = invoke_dbt("test", ctx.run_date, ctx.settings, extra_args=["--select", "test_type:unit"])
unit_tests = {{
    "nightly_kinds": sorted({{result["unique_id"].split(".")[0] for result in first_results["results"]}}),
    "nightly_threads": first_results["args"].get("threads"),
    "declared": len(json.loads((target / "manifest.json").read_text())["unit_tests"]),
    "success": unit.success, "passed": unit.count("pass", "unit_test"), "report": unit.failure_report(),
}}

# The user_tags grain test, alone: it passes on the built table, and catches a planted duplicate (one_id, tag_code)
# that lands in a part of its own.
grain_test = ["--select", "test_name:unique_ids_per_group,user_tags"]
os.environ["DBT_LOG_LEVEL_FILE"] = "debug"  # dbt's own variable: every statement in the file log again
before = log_levels()
grain_clean = invoke_dbt("test", ctx.run_date, ctx.settings, extra_args=grain_test)
file_log["asked_for_debug"] = {{level: count - before[level] for level, count in log_levels().items()}}
del os.environ["DBT_LOG_LEVEL_FILE"]
ctx.client.command(
    "INSERT INTO marts.user_tags SELECT one_id, tag_code, 'planted', computed_date FROM marts.user_tags "
    "ORDER BY tag_code DESC, one_id DESC LIMIT 1"
)
grain_dirty = invoke_dbt("test", ctx.run_date, ctx.settings, extra_args=grain_test)
grain = {{
    "clean": [grain_clean.success, len(grain_clean.nodes)],
    "dirty": [grain_dirty.success, grain_dirty.failure_report()],
}}

# The snapshot's grain (one period per person_tag_key and dbt_valid_from) is proven by two cheap tests: one_id is
# unique per (tag_code, dbt_valid_from), counted in bitmaps, and person_tag_key is one_id:tag_code. Each catches
# its own planted violation (rows marked dbt_scd_id = 0, deleted after each check). The view
# marts.user_tag_periods has the same grain under other names, proven the same way through the view; at most one
# current period per person and tag is proven the same way on the current rows.
snapshot_grain = [
    "--select", "test_name:unique_ids_per_group,user_tag_history", "test_name:expression_is_true,user_tag_history",
    "test_name:unique_ids_per_group,user_tag_periods",
]
snapshot_clean = invoke_dbt("test", ctx.run_date, ctx.settings, extra_args=snapshot_grain)
planted = {{
    "duplicate period": "SELECT person_tag_key, one_id, tag_code, 'planted', computed_date, 0, dbt_updated_at, "
    "dbt_valid_from, dbt_valid_to FROM snapshots.user_tag_history ORDER BY tag_code DESC, one_id DESC LIMIT 1",
    "key of another person": "SELECT 'x:y', one_id, tag_code, tag_value, computed_date, 0, dbt_updated_at, "
    "toDate('2000-01-01'), toDate('2000-01-02') FROM snapshots.user_tag_history LIMIT 1",  # a closed period
}}
snapshot_dirty = {{}}
for violation, rows in planted.items():
    ctx.client.command("INSERT INTO snapshots.user_tag_history " + rows)
    outcome = invoke_dbt("test", ctx.run_date, ctx.settings, extra_args=snapshot_grain)
    snapshot_dirty[violation] = [outcome.success, outcome.failure_report()]
    ctx.client.command("DELETE FROM snapshots.user_tag_history WHERE dbt_scd_id = 0")
grain["snapshot_clean"] = [snapshot_clean.success, len(snapshot_clean.nodes)]
grain["snapshot_dirty"] = snapshot_dirty

# Break an identity invariant: app user u2 now belongs to two people.
ctx.client.command(
    "INSERT INTO identity.identity_map_daily VALUES ('2026-11-21', 9, 'app_user_id', 'u2', '2026-11-20', '2026-11-21')"
)
try:
    build.run(ctx)
    failure = None
except NightshiftError as error:
    failure = str(error)

# The next date, after that build of the first, in the same process: it is built as of its own date (the pipeline
# hands the date to dbt in the environment, not as a var), dbt reuses its saved parse rather than parsing the whole
# project again for a new date, and each run_results.json says which date it is of.
ctx.client.command("DELETE FROM identity.identity_map_daily WHERE one_id = 9")  # the broken invariant, undone
dbt_log = ctx.settings.home / "dbt" / "logs" / "dbt.log"
run_results = ctx.settings.home / "dbt" / "target" / "run_results.json"
full_parses_before = dbt_log.read_text().count("Unable to do partial parsing")
first_date_results = json.loads(run_results.read_text())["metadata"]["env"].get("NIGHTSHIFT_RUN_DATE")
build.run(StageContext(run_date=date(2026, 11, 22), settings=ctx.settings))
next_profile = list(ctx.client.query({PROFILE_QUERY!r}).named_results())
parsing = {{
    "full_parses": dbt_log.read_text().count("Unable to do partial parsing") - full_parses_before,
    "date_left_in_environment": os.environ.get("DBT_ENV_CUSTOM_ENV_NIGHTSHIFT_RUN_DATE"),
    "results_dates": [first_date_results,
                      json.loads(run_results.read_text())["metadata"]["env"].get("NIGHTSHIFT_RUN_DATE")],
}}
print("RESULT:" + json.dumps({{
    "first": first.as_dict(), "second": second.as_dict(),
    "first_profile": first_profile, "second_profile": second_profile, "failure": failure, "grain": grain,
    "next_profile": next_profile, "parsing": parsing, "unit_tests": unit_tests, "file_log": file_log,
}}))
"""


RECORD_BUILD_CODE = """
from datetime import UTC, date, datetime
from nightshift import runlog
from nightshift.warehouse import get_client
client = get_client()
# an older build of an earlier date first, then the most recent one: the bare build must pick the latter
runlog.record(client, "build", date(2026, 11, 1), datetime(2026, 1, 1, tzinfo=UTC), "success", {{}}, "")
runlog.record(client, "build", date.fromisoformat("{run_date}"), datetime.now(UTC), "success", {{}}, "")
"""


def _bare_dbt_build(home: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "dbt"), "build", "--target-path", str(tmp_path / "t"), "--log-path", str(tmp_path / "l")],
        env=isolated_env(home), cwd=REPO_ROOT / "dbt_project", capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def stock_cli(tmp_path_factory) -> dict:
    """The stock `dbt build` (no vars) on a seeded warehouse: first before the pipeline ever built (refused),
    then after two recorded builds (builds as of the newest one)."""
    work = tmp_path_factory.mktemp("dbt-stock-cli")
    home = work / "home"
    run_python(home, SEED_CODE)
    refused = _bare_dbt_build(home, work)
    run_python(home, RECORD_BUILD_CODE.format(run_date=RUN_DATE))
    completed = _bare_dbt_build(home, work)
    inspected = json.loads(run_python(home, INSPECT_CODE)) if completed.returncode == 0 else None
    return {"refused": refused, "completed": completed, "inspected": inspected}


@pytest.mark.slow
def test_bare_dbt_build_refuses_when_the_pipeline_never_built(stock_cli: dict):
    refused = stock_cli["refused"]
    assert refused.returncode != 0
    assert "pipeline has never built" in refused.stdout
    assert "--vars '{run_date: 2026-11-21}'" in refused.stdout  # says how to pass the date


@pytest.mark.slow
def test_stock_dbt_cli_builds_user_profile_as_of_the_last_build(stock_cli: dict):
    completed = stock_cli["completed"]
    assert completed.returncode == 0, f"dbt build failed:\n{completed.stdout[-5000:]}\n{completed.stderr[-2000:]}"
    assert "Registered adapter: nightshift" in completed.stdout
    assert "ERROR=0" in completed.stdout and "WARN=0" in completed.stdout
    assert "Concurrency: 4 threads" in completed.stdout  # profiles.yml's: nodes side by side, each on its connection

    inspected = stock_cli["inspected"]
    assert inspected["profile"] == EXPECTED_PROFILE  # built as of RUN_DATE, the most recent successful build
    tables = {(t["database"], t["name"]): t for t in inspected["tables"]}
    # each layer in the database named after it, nothing built into `default`
    assert not [name for database, name in tables if database == "default"]
    layers = {"stg_": "staging", "int_": "intermediate"}
    for database, name in tables:
        expected = next((layer for prefix, layer in layers.items() if name.startswith(prefix)), "marts")
        assert database == expected, f"{name} was built in {database}, expected {expected}"
    assert {("staging", "stg_app__users"), ("marts", "user_profile"), ("marts", "user_tags")} <= set(tables)
    assert tables[("staging", "stg_app__users")]["engine"] == "View"
    assert tables[("marts", "user_profile")]["engine"] == "MergeTree"
    assert tables[("marts", "user_profile")]["sorting_key"].strip("()") == "one_id"


@pytest.fixture(scope="module")
def in_process_runs(tmp_path_factory) -> dict:
    """Seed a warehouse, then in ONE process: build twice, break an invariant, build again."""
    home = tmp_path_factory.mktemp("dbt-in-process") / "home"
    run_python(home, SEED_CODE)
    output = run_python(home, IN_PROCESS_BUILD_CODE)
    result_line = next(line for line in output.splitlines() if line.startswith("RESULT:"))
    return {"home": home, **json.loads(result_line.removeprefix("RESULT:"))}


@pytest.mark.slow
def test_build_stage_builds_marts_in_process(in_process_runs: dict):
    first = in_process_runs["first"]
    home = in_process_runs["home"]
    assert in_process_runs["first_profile"] == EXPECTED_PROFILE
    assert first["rows"]["marts.user_profile"] == 3
    assert {"marts.user_tags", "marts.tag_bitmaps"} <= set(first["rows"])
    assert re.match(r"dbt build: \d+ models built, \d+ tests passed", first["summary"]), first["summary"]
    # artifacts and logs belong to this installation
    assert first["outputs"]["dbt_artifacts"] == str(home / "dbt" / "target")
    assert (home / "dbt" / "target" / "run_results.json").is_file()
    assert (home / "dbt" / "logs" / "dbt.log").is_file()
    # The file log keeps each node's start and result but not every statement (3.5 s of a 20k-people build at debug);
    # dbt's own DBT_LOG_LEVEL_FILE=debug brings the statements back.
    file_log = in_process_runs["file_log"]
    assert file_log["nightly"]["info"] > 300 and file_log["nightly"]["debug"] == 0, file_log
    assert file_log["asked_for_debug"]["debug"] > 0, file_log


@pytest.mark.slow
def test_build_stage_rerun_yields_identical_content(in_process_runs: dict):
    assert in_process_runs["second_profile"] == in_process_runs["first_profile"]
    assert in_process_runs["second"]["rows"] == in_process_runs["first"]["rows"]


@pytest.mark.slow
def test_each_build_is_as_of_its_own_date_and_reuses_dbts_parse(in_process_runs: dict):
    assert {row["profile_date"] for row in in_process_runs["next_profile"]} == {"2026-11-22"}
    assert in_process_runs["next_profile"] != in_process_runs["first_profile"]
    # a new date is not a new parse (dbt_project/macros/run_date.sql), and the date does not outlive the build
    parsing = in_process_runs["parsing"]
    assert parsing["full_parses"] == 0 and parsing["date_left_in_environment"] is None, parsing
    # dbt's run_results.json says which date each build was of (the report reads its tests only for its own date)
    assert parsing["results_dates"] == [RUN_DATE, "2026-11-22"], parsing


@pytest.mark.slow
def test_nightly_build_runs_the_data_tests_and_leaves_the_unit_tests_to_make_test(in_process_runs: dict):
    unit_tests = in_process_runs["unit_tests"]
    # the nightly build: models, snapshot, seed and data tests, with the threads NIGHTSHIFT_DBT_THREADS says (the
    # tests' 1, tests/conftest.py)
    assert unit_tests["nightly_kinds"] == ["model", "seed", "snapshot", "test"], unit_tests
    assert unit_tests["nightly_threads"] == int(TEST_DBT_THREADS) != Settings.model_fields["dbt_threads"].default
    # ... and this is where the unit tests run instead: every one declared passes on the built models
    assert unit_tests["declared"] >= 11
    assert unit_tests["success"] and unit_tests["passed"] == unit_tests["declared"], unit_tests["report"]


@pytest.mark.slow
def test_build_stage_failure_names_failing_node(in_process_runs: dict):
    failure = in_process_runs["failure"]
    assert failure is not None, "the build should fail when an app user belongs to two people"
    # caught where the links enter dbt: (id_type, id_value) is unique in the staging identity links
    assert "unique_combination_of_columns_stg_identity__identity_links_id_type__id_value" in failure
    assert "models/staging/identity/_identity__models.yml" in failure
    assert "skipped" in failure and "dbt.log" in failure
    assert "Traceback" not in failure


@pytest.mark.slow
def test_user_tags_grain_is_proven_by_counting_ids_in_bitmaps_and_catches_a_duplicate(in_process_runs: dict):
    # unique_ids_per_group: every tag_code has as many rows as distinct one_ids, counted in a bitmap, instead of
    # hashing every (tag_code, one_id) (issue 14: the grain test was 25 s of the 1M build)
    clean_success, clean_nodes = in_process_runs["grain"]["clean"]
    assert clean_success and clean_nodes == 1
    dirty_success, report = in_process_runs["grain"]["dirty"]
    assert not dirty_success
    assert "unique_ids_per_group_user_tags_tag_code__one_id" in report and "Got 1 result" in report


@pytest.mark.slow
def test_snapshot_grain_is_proven_by_counting_ids_and_by_its_key_and_catches_both_violations(in_process_runs: dict):
    # (person_tag_key, dbt_valid_from) unique <=> one_id unique per (tag_code, dbt_valid_from), given
    # person_tag_key = one_id:tag_code on every row: bitmaps of one_ids and one row-wise check instead of grouping
    # every period (issue 14: 16.9 s of the whole build at 1M people)
    clean_success, clean_nodes = in_process_runs["grain"]["snapshot_clean"]
    assert clean_success and clean_nodes == 4  # grain, key, current period, user_tag_periods' grain
    dirty = in_process_runs["grain"]["snapshot_dirty"]
    duplicate_success, duplicate_report = dirty["duplicate period"]
    assert not duplicate_success
    assert "unique_ids_per_group_user_tag_history_tag_code__dbt_valid_from__one_id" in duplicate_report
    assert "unique_ids_per_group_user_tag_periods_tag_code__valid_from_date__one_id" in duplicate_report
    assert "Got 1 result" in duplicate_report and "expression_is_true" not in duplicate_report
    key_success, key_report = dirty["key of another person"]
    assert not key_success
    assert "expression_is_true_user_tag_history_person_tag_key" in key_report
    assert "unique_ids_per_group" not in key_report


def test_an_artifacts_run_date_comes_from_the_pipelines_environment_or_a_hand_run_with_vars():
    pipeline = {"metadata": {"env": {"NIGHTSHIFT_RUN_DATE": "2026-11-21"}}, "args": {"vars": {"windows": {}}}}
    assert artifact_run_date(pipeline) == "2026-11-21"
    by_hand = {"metadata": {"env": {}}, "args": {"vars": {"run_date": "2026-11-20"}}}
    assert artifact_run_date(by_hand) == "2026-11-20"
    assert artifact_run_date({"metadata": {}, "args": {"vars": "{run_date: 2026-11-19}"}}) == "2026-11-19"
    assert artifact_run_date({"metadata": {"env": {}}, "args": {"vars": {}}}) is None  # a bare `dbt build`


def test_failure_report_names_nodes_and_where_to_look():
    outcome = DbtOutcome(
        command=["build", "--vars", "{}"],
        success=False,
        nodes=[
            NodeOutcome("model.nightshift.a", "model", "a", "success", "OK"),
            NodeOutcome("test.nightshift.t", "test", "t", "fail", "Got 2 results", path="models/_m.yml"),
            NodeOutcome("model.nightshift.b", "model", "b", "skipped", ""),
        ],
        target_path=Path("/srv/dbt/target"),
        log_path=Path("/srv/dbt/logs"),
    )
    report = outcome.failure_report()
    assert "- test t (models/_m.yml): fail: Got 2 results" in report
    assert "1 node(s) downstream of the failures were skipped" in report
    assert "/srv/dbt/target/run" in report and "/srv/dbt/logs/dbt.log" in report

    stopped = DbtOutcome(command=["build"], success=False, error="Compilation Error: var run_date")
    assert stopped.failure_report().startswith("dbt build stopped before running anything: Compilation Error")


def test_invoke_dbt_refuses_a_warehouse_other_than_the_environments(monkeypatch, tmp_path):
    # the adapter connects through get_client(), which reads the environment, not the settings passed here
    monkeypatch.setenv("NIGHTSHIFT_HOME", str(tmp_path / "from-environment"))
    monkeypatch.delenv("NIGHTSHIFT_CLICKHOUSE_URL", raising=False)
    with pytest.raises(NightshiftError, match="from-environment.*other"):
        invoke_dbt("build", date(2026, 11, 21), Settings(home=tmp_path / "other"))
