"""The dbt-built person models on a small generated world: `marts.user_profile` honours the contract Spark
segments and campaigns rely on (nightshift/contracts.py), and every catalogue tag is produced.

Reads the session's shared generated world (`nightly_world` in tests/conftest.py: 1,000 people, two days
ingested, the whole pipeline run for the second day) through subprocesses, since the embedded engine allows one
warehouse directory per process.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest

from nightshift.contracts import CHANNELS, USER_PROFILE_COLUMNS, USER_TAG_PERIODS_COLUMNS
from tests.conftest import NIGHTLY_WORLD_RUN_DATE, REPO_ROOT, VENV_BIN, isolated_env, run_cli

RUN_DATE = NIGHTLY_WORLD_RUN_DATE
CATALOGUE_PATH = REPO_ROOT / "dbt_project" / "seeds" / "tag_catalogue.csv"
TAG_MACRO_PATH = REPO_ROOT / "dbt_project" / "macros" / "tags.sql"
USER_TAGS_COLUMNS = {
    "one_id": "UInt64",
    "tag_code": "LowCardinality(String)",
    "tag_value": "String",
    "computed_date": "Date",
}


def query(home: Path, sql: str) -> list[dict]:
    completed = run_cli(home, "sql", sql, "--format", "json")
    return json.loads(completed.stdout)


def table_columns(home: Path, table: str) -> dict[str, str]:
    database, name = table.split(".")
    rows = query(
        home,
        f"SELECT name, type FROM system.columns WHERE database = '{database}' AND table = '{name}' ORDER BY position",
    )
    return {row["name"]: row["type"] for row in rows}


def catalogue() -> list[dict[str, str]]:
    with CATALOGUE_PATH.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def world(nightly_world) -> Path:
    """The session's built world (tests/conftest.py): two days ingested, the whole pipeline run for the second."""
    return nightly_world


def test_user_profile_has_every_contract_column_with_its_type(world):
    built = table_columns(world, "marts.user_profile")
    missing = sorted(set(USER_PROFILE_COLUMNS) - set(built))
    wrong = {name: (expected, built[name]) for name, expected in USER_PROFILE_COLUMNS.items()
             if name in built and built[name] != expected}  # fmt: skip
    assert not missing, (
        f"marts.user_profile lacks contract columns {missing} (nightshift/contracts.py USER_PROFILE_COLUMNS); "
        "add them to dbt_project/models/marts/users/user_profile.sql"
    )
    assert not wrong, f"marts.user_profile columns with types other than the contract's (expected, built): {wrong}"
    for channel in CHANNELS:
        assert f"can_receive_{channel}" in built and f"contact_ref_{channel}" in built, channel


def test_every_catalogue_tag_is_a_profile_column_and_a_possible_user_tags_code(world):
    codes = [row["code"] for row in catalogue()]
    assert len(codes) >= 40 and len(set(codes)) == len(codes), "the catalogue needs 40+ distinct tag codes"
    built = table_columns(world, "marts.user_profile")
    assert not sorted(set(codes) - set(built)), "catalogue tags without a user_profile column"
    # user_tags unpivots exactly the codes of catalogue_tags() (macros/tags.sql): its possible codes
    produced = re.findall(r"\{'code': '(\w+)', 'type': '(\w+)'\}", TAG_MACRO_PATH.read_text(encoding="utf-8"))
    assert produced == [(row["code"], row["type"]) for row in catalogue()], (
        "macros/tags.sql catalogue_tags() must list the seed's codes and types in the seed's order"
    )
    present = {row["tag_code"] for row in query(world, "SELECT DISTINCT tag_code FROM marts.user_tags")}
    assert present <= set(codes), f"user_tags codes missing from the catalogue: {sorted(present - set(codes))}"
    # tags every person has a value for must be present on any non-empty world
    always = {"gender", "device_os", "lifecycle_stage", "rfm_segment", "can_receive_sms", "is_blacklisted"}
    assert always <= present, f"tags every person has but user_tags lacks: {sorted(always - present)}"


def test_user_tags_keeps_its_contract_and_grain(world):
    assert table_columns(world, "marts.user_tags") == USER_TAGS_COLUMNS
    [grain] = query(
        world,
        "SELECT count() AS tag_rows, uniqExact(one_id, tag_code) AS keys, uniqExact(computed_date) AS dates, "
        f"countIf(computed_date != '{RUN_DATE}') AS wrong_dates FROM marts.user_tags",
    )
    assert grain["tag_rows"] > 0 and grain["tag_rows"] == grain["keys"], grain
    assert grain["wrong_dates"] == 0, grain


def test_profile_is_one_row_per_resolved_person(world):
    [counts] = query(
        world,
        "SELECT (SELECT count() FROM marts.user_profile) AS profile_rows, "
        "(SELECT uniqExact(one_id) FROM marts.user_profile) AS profile_people, "
        "(SELECT uniqExact(one_id) FROM identity.identity_map WHERE first_seen_date <= "
        f"'{RUN_DATE}') AS people, (SELECT countIf(profile_date != '{RUN_DATE}') FROM marts.user_profile) AS wrong",
    )
    assert counts["profile_rows"] == counts["profile_people"] == counts["people"] > 0, counts
    assert counts["wrong"] == 0, counts


def test_reachability_is_address_and_consent(world):
    checks = {
        "sms without a phone": "can_receive_sms = 1 AND phone = ''",
        "sms after unsubscribe": "can_receive_sms = 1 AND is_sms_unsubscribed = 1",
        "sms ref without consent": "can_receive_sms = 0 AND contact_ref_sms != ''",
        "push without an app account": "can_receive_app_push = 1 AND app_user_id = ''",
        "call without a phone": "can_receive_outbound_call = 1 AND phone = ''",
        "ref differs from address": "can_receive_sms = 1 AND contact_ref_sms != phone",
        "oa without a subscribed openid": "can_receive_wechat_oa_template = 1 AND contact_ref_wechat_oa_template = ''",
        "timezone missing": "timezone != 'Asia/Shanghai'",
    }
    selects = ", ".join(f"countIf({condition}) AS `{name}`" for name, condition in checks.items())
    [violations] = query(world, f"SELECT {selects} FROM marts.user_profile")
    assert not {name: n for name, n in violations.items() if n}, violations
    [reachable] = query(world, "SELECT countIf(can_receive_sms = 1) AS sms, count() AS people FROM marts.user_profile")
    assert 0 < reachable["sms"] < reachable["people"], reachable


def test_dbt_docs_generate_describes_every_model_and_column(world, tmp_path):
    target = tmp_path / "docs-target"
    completed = subprocess.run(
        [str(VENV_BIN / "dbt"), "docs", "generate", "--vars", f"{{run_date: {RUN_DATE}}}",
         "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        env=isolated_env(world), cwd=REPO_ROOT / "dbt_project", capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert (target / "index.html").is_file()
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {key: node for key, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert len(models) >= 40
    undescribed = sorted(node["name"] for node in models.values() if not node["description"].strip())
    assert not undescribed, f"models without a description: {undescribed}"
    # every catalogue tag has at least one data test on its user_profile column
    profile_tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"
                     and "model.nightshift.user_profile" in node["depends_on"]["nodes"]]  # fmt: skip
    tested = {node.get("column_name") for node in profile_tests}
    untested = [row["code"] for row in catalogue() if row["code"] not in tested]
    assert not untested, f"catalogue tags without a data test on marts.user_profile: {untested}"
    # every column the warehouse has (catalog) is documented in the model's YAML (manifest)
    for key, node in models.items():
        built = set(catalog["nodes"][key]["columns"]) if key in catalog["nodes"] else set()
        documented = {name for name, column in node["columns"].items() if column["description"].strip()}
        assert built, f"{node['name']} is missing from the docs catalog"
        assert not sorted(built - documented), f"{node['name']}: undocumented columns {sorted(built - documented)}"


def test_profile_command_shows_any_person(world):
    people = query(
        world,
        "SELECT one_id, groupArray(id_value) AS ids FROM identity.identity_map GROUP BY one_id "
        "ORDER BY cityHash64(one_id) LIMIT 5",
    )
    assert people
    for person in people:
        shown = run_cli(world, "profile", str(person["one_id"]), "--recent", "3", COLUMNS="200")
        assert f"one_id {person['one_id']}" in shown.stdout, shown.stdout[:2000]
        for id_value in person["ids"]:
            assert id_value in shown.stdout, f"{id_value} of {person['one_id']} not shown:\n{shown.stdout[:3000]}"
    missing = run_cli(world, "profile", "999999999", check=False)
    assert missing.returncode == 1 and "999999999" in missing.stderr and "Traceback" not in missing.stderr


def test_tag_history_in_the_marts_answers_rule_segments(world):
    """marts.user_tag_periods (the view rule segments' `had:` reads) keeps its contract and every snapshot row, and
    a `had` rule previews to the people the snapshot says had the tag on the run date."""
    assert table_columns(world, "marts.user_tag_periods") == USER_TAG_PERIODS_COLUMNS
    [counts] = query(
        world,
        "SELECT (SELECT count() FROM marts.user_tag_periods) AS periods, "
        "(SELECT count() FROM snapshots.user_tag_history) AS snapshot, "
        "(SELECT uniqExact(one_id) FROM snapshots.user_tag_history WHERE tag_code = 'lifecycle_stage' "
        f"AND tag_value = 'active' AND dbt_valid_from <= '{RUN_DATE}' "
        f"AND (dbt_valid_to > '{RUN_DATE}' OR dbt_valid_to IS NULL)) AS had_active",
    )
    assert int(counts["periods"]) == int(counts["snapshot"]) > 0 and int(counts["had_active"]) > 0
    rule = f"{{had: {{tag: lifecycle_stage, value: active, on: {RUN_DATE}}}}}"
    preview = run_cli(world, "segment", "preview", "--rule", rule, "--no-cache").stdout
    assert f"unsaved_rule: {int(counts['had_active']):,} people" in preview
