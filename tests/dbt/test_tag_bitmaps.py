"""Tag marts on top of marts.user_tags: tag_bitmaps, the tag history snapshot and the analysis marts.

One warehouse per test session (`tag_warehouse`), built in a subprocess with its own NIGHTSHIFT_HOME (the
embedded engine allows one process per directory): synthetic marts.user_tags for two run dates, a person's
identities, app events and orders in raw tables, then the real dbt project builds the tag catalogue seed,
tag_bitmaps, the snapshot and the analysis marts for each date (upstream staging views too, but never
user_tags, which the scenario provides). Each test then reads that warehouse in a short subprocess.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, run_python

DAY_1 = "2026-11-21"
DAY_2 = "2026-11-22"
PEOPLE = 2_000
SNAPSHOT_YAML = REPO_ROOT / "dbt_project" / "snapshots" / "_snapshots.yml"

# Tags of the scenario, with the catalogue type the seed gives them; only the first five get bitmaps.
BITMAP_TAGS = {"gender", "is_sharer", "rfm_r_score", "lifecycle_stage", "device_os"}
NON_BITMAP_TAGS = {"rfm_monetary", "account_age_days"}

# Synthetic user_tags of one day ({day}: 1 or 2). On day 2 every 10th person's gender changes, every 7th
# person loses is_sharer, and 10 new people appear. Non-buyers (every 5th person) have no rfm tags.
USER_TAGS_SQL = """
INSERT INTO marts.user_tags
SELECT one_id, tag.1, tag.2, toDate('{date}')
FROM (SELECT number + 1 AS one_id FROM numbers({people} + if({day} = 2, 10, 0)))
ARRAY JOIN [
    ('gender', ['male', 'female', 'unknown'][cityHash64(one_id, if({day} = 2 AND one_id % 10 = 0, 11, 1)) % 3 + 1]),
    ('is_sharer', if({day} = 2 AND one_id % 7 = 0, '', if(cityHash64(one_id, 2) % 4 = 0, 'true', 'false'))),
    ('rfm_r_score', if(one_id % 5 = 0, '', toString(cityHash64(one_id, 3) % 5 + 1))),
    ('lifecycle_stage', ['new', 'active', 'silent', 'churned', 'reactivated'][cityHash64(one_id, 4) % 5 + 1]),
    ('device_os', ['ios', 'android', 'harmonyos', 'unknown'][cityHash64(one_id, 5) % 4 + 1]),
    ('rfm_monetary', if(one_id % 5 = 0, '', toString(cityHash64(one_id, 6) % 100000 / 100))),
    ('account_age_days', toString(cityHash64(one_id, 7) % 900))
] AS tag
WHERE tag.2 != ''
"""

SCENARIO_CODE = """
import json
import sys
from datetime import date

from nightshift.dbt_runner import invoke_dbt
from nightshift.identity import tables as identity_tables
from nightshift.ingest.tables import ensure_raw_table
from nightshift.settings import get_settings
from nightshift.sources.app import EVENTS
from nightshift.sources.orders import ORDERS
from nightshift.warehouse import ensure_databases, get_client

USER_TAGS_SQL, PEOPLE, DAYS = json.loads(sys.argv[1])
# cautious: only the tests whose every parent is selected (not those that also need, say, user_profile)
TAG_SELECTION = ["--select", "tag_catalogue", "tag_bitmaps", "user_tag_history", "--indirect-selection", "cautious"]
ANALYSIS_SELECTION = ["--select", "+retention_cohorts", "+conversion_funnels", "stg_orders__orders",
                      "--indirect-selection", "cautious"]

settings = get_settings()
client = get_client(settings)
ensure_databases(client)
# the identity stage's output contract: the map of each run date, which dbt reads (one map, written on the first
# date, serves both: dbt reads the latest partition on or before its run date), and the current map
identity_tables.create_tables(client)
client.command(
    "CREATE TABLE marts.user_tags (one_id UInt64, tag_code LowCardinality(String), tag_value String, "
    "computed_date Date) ENGINE = MergeTree ORDER BY (tag_code, one_id)"
)
client.command(
    "INSERT INTO identity.identity_map_daily SELECT toDate({first_date:String}), number + 1, 'app_user_id', "
    f"concat('u', toString(number + 1)), '2026-10-01', '2026-11-22' FROM numbers({PEOPLE} + 10)",
    parameters={"first_date": DAYS[0][1]},
)
client.command(
    "INSERT INTO identity.identity_map_daily VALUES "
    "({first_date:String}, 1, 'phone', '+8613800138001', '2026-10-01', '2026-11-22')",
    parameters={"first_date": DAYS[0][1]},
)
identity_tables.publish_current_map(client, date.fromisoformat(DAYS[0][1]))
ensure_raw_table(client, EVENTS)
ensure_raw_table(client, ORDERS)
# Person 1 goes through the C2B funnel; people 2..40 view and value; everybody is back a week later.
client.command('''
INSERT INTO raw.app__events (event_id, event, event_time, user_id, device_id, page, sku_id, order_id, _drop_date)
SELECT concat('e', toString(number), '-', toString(c.2)), c.1, toDateTime64('2026-11-10 02:00:00', 3, 'UTC') + c.2,
       concat('u', toString(person)), concat('d', toString(person)), 'home', 'sku-1', c.3,
       toDate('2026-11-10') + intDiv(c.2, 86400)
FROM (SELECT number, number % 40 + 1 AS person, arrayJoin([('page_view', 0, ''), ('valuation', 3600, ''),
      ('order_submit', 7200, 'o-1'), ('pay', 7300, 'o-1'), ('page_view', 7 * 86400, '')]) AS c FROM numbers(40))
WHERE person = 1 OR c.1 IN ('page_view', 'valuation')
''')
client.command('''
INSERT INTO raw.orders__orders (order_id, user_id, order_type, status, total_amount, pay_amount, created_at, _drop_date)
VALUES ('o-1', 'u1', 'c2b', 'paid', 120000, 118000, '2026-11-10 04:00:00', '2026-11-10'),
       ('o-2', 'u1', 'b2c', 'created', 5000, 5000, '2026-11-12 04:00:00', '2026-11-12')
''')

outcomes = []
for day, run_date, repeats in DAYS:
    client.command("TRUNCATE TABLE marts.user_tags")
    client.command(USER_TAGS_SQL.format(day=day, date=run_date, people=PEOPLE))
    for _ in range(repeats):
        outcome = invoke_dbt("build", date.fromisoformat(run_date), settings, TAG_SELECTION)
        if not outcome.success:
            sys.exit(outcome.failure_report())
        # the snapshot must not change when a date is re-run
        history_rows = client.query("SELECT count() FROM snapshots.user_tag_history").result_rows[0][0]
        outcomes.append([outcome.count("pass"), history_rows])
# The analysis marts do not read user_tags: built once, on the last date; a failure is reported, not fatal,
# so that the tag tests do not depend on the event models upstream.
analysis = invoke_dbt("build", date.fromisoformat(run_date), settings, ANALYSIS_SELECTION)
outcomes.append([analysis.count("pass"), "" if analysis.success else analysis.failure_report()])
print(json.dumps(outcomes))
"""


QUERY_CODE = """
import json
import sys

from nightshift.warehouse import get_client

client = get_client()
answers = [list(map(list, client.query(sql).result_rows)) for sql in json.loads(sys.argv[1])]
print(json.dumps(answers, default=str))
"""


def query(home: Path, *sqls: str) -> list[list[list]]:
    """Rows of each query, run in one subprocess against the installation at `home`."""
    return json.loads(run_python(home, QUERY_CODE, json.dumps(list(sqls))).strip().splitlines()[-1])


def build_tag_warehouse(home: Path) -> dict:
    """Build the scenario's installation in `home` once (day 1, then day 2 twice); its figures.

    Both this module and tests/test_profile_view.py read it: the figures are kept next to it, so whichever
    module runs first builds it and the other reuses it (a fixture imported into another module would be a
    second fixture and build it again).
    """
    figures_file = home / "scenario.json"
    if not figures_file.exists():
        home.mkdir(parents=True, exist_ok=True)
        days = [(1, DAY_1, 1), (2, DAY_2, 2)]
        stdout = run_python(home, SCENARIO_CODE, json.dumps([USER_TAGS_SQL, PEOPLE, days]))
        figures_file.write_text(stdout.strip().splitlines()[-1])
    *tag_runs, (analysis_passes, analysis_failure) = json.loads(figures_file.read_text())
    return {
        "home": home,
        "tag_passes": [passes for passes, _ in tag_runs],
        "history_rows": [rows for _, rows in tag_runs],
        "analysis_passes": analysis_passes,
        "analysis_failure": analysis_failure,
    }


@pytest.fixture(scope="session")
def tag_warehouse(tmp_path_factory) -> dict:
    return build_tag_warehouse(tmp_path_factory.getbasetemp() / "tag-marts")


@pytest.fixture
def analysis_built(tag_warehouse) -> dict:
    if tag_warehouse["analysis_failure"]:
        pytest.fail(f"dbt build of the analysis marts failed:\n{tag_warehouse['analysis_failure']}")
    return tag_warehouse


def test_dbt_builds_the_tag_marts_and_runs_their_tests(tag_warehouse):
    # seed + bitmaps + snapshot and their data tests, every date
    assert all(passes >= 10 for passes in tag_warehouse["tag_passes"]), tag_warehouse["tag_passes"]


def test_dbt_builds_the_analysis_marts_and_runs_their_unit_tests(analysis_built):
    assert analysis_built["analysis_passes"] >= 15


def test_tag_bitmaps_shape_and_table_settings(tag_warehouse):
    columns, create = query(
        tag_warehouse["home"],
        "SELECT name, type FROM system.columns WHERE database = 'marts' AND table = 'tag_bitmaps' ORDER BY position",
        "SELECT create_table_query FROM system.tables WHERE database = 'marts' AND name = 'tag_bitmaps'",
    )
    assert columns == [
        ["tag_code", "LowCardinality(String)"],
        ["tag_value", "String"],
        ["people", "UInt64"],
        ["bitmap", "AggregateFunction(groupBitmap, UInt32)"],
    ]
    assert "index_granularity = 1" in create[0][0]
    assert "ORDER BY (tag_code, tag_value)" in create[0][0].replace("((", "(").replace("))", ")")


def test_bitmap_cardinalities_equal_user_tags_counts(tag_warehouse):
    from_bitmaps, from_user_tags = query(
        tag_warehouse["home"],
        "SELECT tag_code, tag_value, people, bitmapCardinality(bitmap) FROM marts.tag_bitmaps "
        "ORDER BY tag_code, tag_value",
        "SELECT tag_code, tag_value, count(), count() FROM marts.user_tags "
        f"WHERE tag_code IN {tuple(sorted(BITMAP_TAGS))} GROUP BY tag_code, tag_value ORDER BY tag_code, tag_value",
    )
    assert from_bitmaps == from_user_tags
    assert {row[0] for row in from_bitmaps} == BITMAP_TAGS  # numeric, open-ended tags get no bitmap
    assert {row[1] for row in from_bitmaps if row[0] == "rfm_r_score"} == {"1", "2", "3", "4", "5"}


# ((gender = female AND is_sharer = true) OR (rfm_r_score = 5 AND device_os = ios)) AND NOT lifecycle = churned
CONDITIONS = {
    "a": ("gender", "female"),
    "b": ("is_sharer", "true"),
    "c": ("rfm_r_score", "5"),
    "d": ("device_os", "ios"),
    "e": ("lifecycle_stage", "churned"),
}


def _bitmap_segment_sql() -> str:
    states = ", ".join(
        f"groupBitmapMergeStateIf(bitmap, tag_code = '{code}' AND tag_value = '{value}') AS {name}"
        for name, (code, value) in CONDITIONS.items()
    )
    codes = tuple(sorted({code for code, _ in CONDITIONS.values()}))
    # all rows combined in one query, as the index_granularity = 1 table is meant to be read
    return (
        "SELECT arraySort(bitmapToArray(bitmapAndnot(bitmapOr(bitmapAnd(a, b), bitmapAnd(c, d)), e))) "
        f"FROM (SELECT {states} FROM marts.tag_bitmaps WHERE tag_code IN {codes})"
    )


def _user_tags_segment_sql() -> str:
    has = {
        name: f"countIf(tag_code = '{code}' AND tag_value = '{value}') > 0"
        for name, (code, value) in CONDITIONS.items()
    }
    return (
        "SELECT arraySort(groupArray(one_id)) FROM (SELECT one_id FROM marts.user_tags GROUP BY one_id "
        f"HAVING (({has['a']} AND {has['b']}) OR ({has['c']} AND {has['d']})) AND NOT {has['e']})"
    )


def test_five_condition_bitmap_segment_equals_the_same_set_from_user_tags(tag_warehouse):
    (bitmap_rows, tag_rows, everybody) = query(
        tag_warehouse["home"],
        _bitmap_segment_sql(),
        _user_tags_segment_sql(),
        "SELECT uniqExact(one_id) FROM marts.user_tags",
    )
    segment = bitmap_rows[0][0]
    assert segment == tag_rows[0][0]
    assert 0 < len(segment) < everybody[0][0] / 2  # a real selection, neither empty nor everyone


def _documented_query(title: str) -> str:
    """The SQL the snapshot's YAML description documents after `title` (the backquoted text)."""
    description = yaml.safe_load(SNAPSHOT_YAML.read_text())["snapshots"][0]["description"]
    match = re.search(re.escape(title) + r"[^`]*`([^`]+)`", description)
    assert match, f"{SNAPSHOT_YAML}: the description documents no query after {title!r}"
    return match.group(1)


def test_documented_who_had_tag_on_date_query(tag_warehouse):
    who_had = _documented_query("Who had tag X (= value V) on date D:")
    sqls = [
        who_had.replace("'X'", "'gender'").replace("'V'", "'female'").replace("'D'", f"'{day}'") + " ORDER BY one_id"
        for day in (DAY_1, "2026-11-21", DAY_2, "2026-12-31")
    ]
    on_day_1, _, on_day_2, later = query(tag_warehouse["home"], *sqls)
    # the same people as the day's user_tags, which the scenario computed with a known hash
    expected_day_1, expected_day_2 = query(
        tag_warehouse["home"],
        f"SELECT number + 1 AS one_id FROM numbers({PEOPLE}) WHERE cityHash64(one_id, 1) % 3 + 1 = 2 ORDER BY one_id",
        f"SELECT number + 1 AS one_id FROM numbers({PEOPLE} + 10) "
        "WHERE cityHash64(one_id, if(one_id % 10 = 0, 11, 1)) % 3 + 1 = 2 ORDER BY one_id",
    )
    assert on_day_1 == expected_day_1
    assert on_day_2 == expected_day_2 == later
    assert on_day_1 != on_day_2  # some people's gender changed on day 2


GENDER_SQL = "['male', 'female', 'unknown'][cityHash64({person}, {salt}) % 3 + 1]"  # as in USER_TAGS_SQL


def test_documented_since_when_query(tag_warehouse):
    home = tag_warehouse["home"]
    since = _documented_query("Since when does person P have tag X (with its current value):")
    # a person whose gender changed on day 2 (day-2 salt 11 gives another value than salt 1)
    [[[changed]]] = query(
        home,
        f"SELECT min(number) FROM numbers(10, {PEOPLE}) WHERE number % 10 = 0 "
        f"AND {GENDER_SQL.format(person='number', salt=1)} != {GENDER_SQL.format(person='number', salt=11)}",
    )
    unchanged, new_person, lost_sharer = 1, PEOPLE + 1, 7
    cases = ((unchanged, "gender"), (changed, "gender"), (new_person, "gender"), (lost_sharer, "is_sharer"))
    sqls = [since.replace("'X'", f"'{tag}'").replace("= P", f"= {person}") for person, tag in cases]
    genders = (
        f"SELECT {GENDER_SQL.format(person=unchanged, salt=1)}, {GENDER_SQL.format(person=changed, salt=11)}, "
        f"{GENDER_SQL.format(person=new_person, salt=1)}"
    )
    unchanged_rows, changed_rows, new_rows, lost_rows, [expected] = query(home, *sqls, genders)
    assert unchanged_rows == [[expected[0], DAY_1]]
    assert changed_rows == [[expected[1], DAY_2]]
    assert new_rows == [[expected[2], DAY_2]]
    assert lost_rows == []  # is_sharer was removed on day 2: no current value


def test_snapshot_history_is_keyed_on_run_dates_and_rerun_safe(tag_warehouse):
    rows_1, rows_2, rows_2_again = tag_warehouse["history_rows"]
    assert rows_2 > rows_1 and rows_2_again == rows_2
    periods, removal = query(
        tag_warehouse["home"],
        "SELECT DISTINCT toString(dbt_valid_from), toString(dbt_valid_to) FROM snapshots.user_tag_history "
        "ORDER BY 1, 2",
        "SELECT tag_value, toString(dbt_valid_from), dbt_valid_to FROM snapshots.user_tag_history "
        "WHERE one_id = 7 AND tag_code = 'is_sharer' ORDER BY dbt_valid_from",
    )
    assert periods == [[DAY_1, DAY_2], [DAY_1, None], [DAY_2, None]]
    assert removal[1] == [None, DAY_2, None] and removal[0][2] == DAY_2


def test_analysis_marts_count_the_scenario_funnel_and_retention(analysis_built):
    funnel, cohorts = query(
        analysis_built["home"],
        "SELECT step_event, people FROM marts.conversion_funnels "
        "WHERE funnel_name = 'c2b_valuation_to_pay' AND entry_date = '2026-11-10' ORDER BY step_number",
        "SELECT toString(cohort_date), cohort_people, day_1_retained_people, day_7_retained_people, "
        "is_day_30_observable FROM marts.retention_cohorts ORDER BY cohort_date",
    )
    # 40 people view and value; only person 1 submits and pays
    assert funnel == [["page_view", 40], ["valuation", 40], ["order_submit", 1], ["pay", 1]]
    assert cohorts == [["2026-11-10", 40, 0, 40, False]]
