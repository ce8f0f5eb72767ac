"""The tag history snapshot over several nights, against a history computed in Python from the same nights.

snapshots.user_tag_history is built by dbt's snapshot with this project's change set
(dbt_project/macros/snapshot_staging_table.sql: one sort-merge FULL JOIN of user_tags and the open periods on
(tag_code, one_id); a key gone from user_tags gets a period with tag_value null). Each night of the scenario
covers a case the change set has to get right: a value that changes, a tag that is lost and stays lost, a tag
lost and found again, a person who is new, a tag that is lost on a later night, a night re-run.
The whole table (every period, dbt's keys included) must equal what `expected_history` derives from the nights.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import run_python

# (one_id, tag_code) -> tag_value on each night; a missing key is a tag the person does not have that night.
NIGHTS: list[tuple[str, dict[tuple[int, str], str]]] = [
    (
        "2026-11-21",
        {
            (1, "gender"): "male",
            (2, "is_sharer"): "true",
            (3, "is_sharer"): "true",
            (5, "gender"): "female",
            (6, "gender"): "male",
            (6, "is_sharer"): "false",
        },
    ),
    (
        "2026-11-22",
        {
            (1, "gender"): "male",  # unchanged
            # 2 and 3 lose is_sharer
            (4, "gender"): "female",  # new person
            (5, "gender"): "female",
            (6, "gender"): "male",
            (6, "is_sharer"): "false",
        },
    ),
    (
        "2026-11-23",
        {
            (1, "gender"): "female",  # changed
            # 2 stays without is_sharer: no new period
            (3, "is_sharer"): "true",  # found again
            (4, "gender"): "female",
            (5, "gender"): "female",
            (6, "is_sharer"): "false",  # 6 loses gender
        },
    ),
]
RERUN = 2  # the last night runs twice: the history must not change

SNAPSHOT_CODE = """
import json
import sys
from datetime import date

from nightshift.dbt_runner import invoke_dbt
from nightshift.settings import get_settings
from nightshift.warehouse import ensure_databases, get_client

nights, rerun = json.loads(sys.argv[1])
settings = get_settings()
client = get_client(settings)
ensure_databases(client)
client.command(
    "CREATE TABLE marts.user_tags (one_id UInt64, tag_code LowCardinality(String), tag_value String, "
    "computed_date Date) ENGINE = MergeTree ORDER BY (tag_code, one_id)"
)
HISTORY = (
    "SELECT one_id, tag_code, person_tag_key, tag_value, toString(computed_date), toString(dbt_valid_from), "
    "toString(dbt_valid_to), toString(dbt_updated_at), dbt_scd_id FROM snapshots.user_tag_history "
    "ORDER BY tag_code, one_id, dbt_valid_from"
)
histories = []
for index, (run_date, tags) in enumerate(nights):
    client.command("TRUNCATE TABLE marts.user_tags")
    client.command(
        "INSERT INTO marts.user_tags SELECT t.1, t.2, t.3, toDate({d:String}) "
        "FROM (SELECT arrayJoin({tags:Array(Tuple(UInt64, String, String))}) AS t)",
        parameters={"d": run_date, "tags": [tuple(tag) for tag in tags]},
    )
    for _ in range(rerun if index == len(nights) - 1 else 1):
        outcome = invoke_dbt("snapshot", date.fromisoformat(run_date), settings, ["--select", "user_tag_history"])
        if not outcome.success:
            sys.exit(outcome.failure_report())
        histories.append([list(row) for row in client.query(HISTORY).result_rows])
print(json.dumps(histories))
"""


def scd_id(person_tag_key: str, valid_from: str) -> int:
    """dbt-clickhouse's snapshot hash: halfMD5 of 'key|date', the first 8 bytes of the MD5 read big-endian."""
    return int.from_bytes(hashlib.md5(f"{person_tag_key}|{valid_from}".encode()).digest()[:8], "big")


def expected_history(nights) -> list[list]:
    """SCD type 2 of the nights, as the snapshot documents it: a period per (person, tag) and unchanged value,
    from the run date it appeared to the run date it changed; losing a tag opens a period with tag_value None."""
    periods: list[dict] = []
    open_period: dict[tuple[int, str], dict] = {}
    for run_date, tags in nights:
        absent = {key: None for key, period in open_period.items() if key not in tags and period["value"] is not None}
        for key, value in {**absent, **tags}.items():
            current = open_period.get(key)
            if current is not None and current["value"] == value:
                continue
            if current is not None:
                current["to"] = run_date
            open_period[key] = {"key": key, "value": value, "from": run_date, "to": None}
            periods.append(open_period[key])
    rows = []
    for period in periods:
        (one_id, tag_code), person_tag_key = period["key"], f"{period['key'][0]}:{period['key'][1]}"
        valid_from = period["from"]
        rows.append(
            [one_id, tag_code, person_tag_key, period["value"], valid_from, valid_from, period["to"], valid_from,
             scd_id(person_tag_key, valid_from)]
        )  # fmt: skip
    return sorted(rows, key=lambda row: (row[1], row[0], row[5]))


@pytest.fixture(scope="module")
def histories(tmp_path_factory) -> list[list[list]]:
    """The whole history table after each snapshot run (the last night twice)."""
    home = tmp_path_factory.mktemp("snapshot-history")
    nights = [[run_date, [[*key, value] for key, value in tags.items()]] for run_date, tags in NIGHTS]
    stdout = run_python(home, SNAPSHOT_CODE, json.dumps([nights, RERUN]))
    return json.loads(stdout.strip().splitlines()[-1])


def test_the_oracle_reads_the_scenario_as_intended():
    history = expected_history(NIGHTS)
    periods = {(row[0], row[1], row[4]): (row[3], row[6]) for row in history}
    assert periods[(1, "gender", "2026-11-21")] == ("male", "2026-11-23")
    assert periods[(2, "is_sharer", "2026-11-22")] == (None, None)  # lost, and no new period on the 23rd
    assert periods[(3, "is_sharer", "2026-11-22")] == (None, "2026-11-23")
    assert periods[(3, "is_sharer", "2026-11-23")] == ("true", None)
    assert periods[(6, "gender", "2026-11-23")] == (None, None)
    assert len(history) == 12
    # halfMD5 as ClickHouse computes it (SELECT halfMD5('1:gender|2026-11-21'))
    assert scd_id("1:gender", "2026-11-21") == 8935608001066770890


def test_every_night_the_history_equals_the_oracle(histories):
    for night in range(1, len(NIGHTS) + 1):
        assert histories[night - 1] == expected_history(NIGHTS[:night]), f"after night {night}"


def test_re_running_a_night_changes_nothing(histories):
    assert histories[-1] == histories[-2]
