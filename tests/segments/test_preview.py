"""Preview, diff and explain on synthetic marts: every figure equals a brute-force count over the same data."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from nightshift.cli.segment import segment_app
from nightshift.errors import NightshiftError
from nightshift.segments import validate_all
from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, clickhouse_sql
from nightshift.segments.cache import marts_version, store_nightly_bitmaps, stored_tonight
from nightshift.segments.files import SEGMENTS_DIR
from nightshift.segments.inspect import (
    diff_segment,
    explain_segment,
    find_definition,
    preview_method,
    preview_segment,
)
from nightshift.segments.schema import tag_codes
from tests.conftest import SYNTHETIC_MARTS_PEOPLE

# Tag combinations with NOT, !=, NOT IN and OR, where SQL's NULL semantics and the bitmap sets could disagree;
# NULL integer tags (non-buyers' RFM scores); boolean tags whose 0/1 columns have 'true'/'false' bitmaps.
TAG_COMBINATIONS = {
    "not_high_coupon_or_not_ios": "SELECT one_id FROM marts.user_profile "
    "WHERE NOT (coupon_sensitivity = 'high') OR device_os != 'ios'",
    "nested_not": "SELECT one_id FROM marts.user_profile "
    "WHERE rfm_r_score NOT IN (1, 2) AND NOT (device_os IN ('android', 'harmonyos') OR gender = 'female')",
    "quoted_number_and_flags": "SELECT one_id FROM marts.user_profile AS p "
    "WHERE p.rfm_m_score = '4' AND can_receive_sms = 1 AND NOT is_blacklisted AND has_complaint != true",
    "null_score_or_flag": "SELECT one_id FROM marts.user_profile "
    "WHERE NOT (nps_score = 10) OR (is_sharer AND lifecycle_stage = 'churned' AND can_receive_wecom = 0)",
}


@pytest.fixture(scope="module")
def marts(synthetic_marts) -> str:
    return synthetic_marts  # shared, read-only (tests/conftest.py)


@pytest.fixture(scope="module")
def definitions(client, marts, tmp_path_factory):
    directory = tmp_path_factory.mktemp("segments")
    for path in SEGMENTS_DIR.glob("*.sql"):
        (directory / path.name).write_text(path.read_text())
    for name, sql in TAG_COMBINATIONS.items():
        (directory / f"{name}.sql").write_text(f"-- name: {name}\n-- owner: t\n-- description: d\n{sql}\n")
    report = validate_all(directory, client, marts)
    assert report.errors == []
    return report.valid


def members(client, definition, database) -> set[int]:
    rows = client.query(
        f"SELECT DISTINCT one_id FROM ({clickhouse_sql(definition, database)})", settings=CLICKHOUSE_SEGMENT_SETTINGS
    ).result_rows
    return {int(one_id) for (one_id,) in rows}


@pytest.mark.parametrize("use_cache", [False, True])
def test_preview_figures_equal_brute_force_counts(client, marts, definitions, use_cache):
    brute = {d.name: members(client, d, marts) for d in definitions}
    methods = set()
    for definition in definitions:
        preview = preview_segment(client, definition.name, definitions, marts, sample_size=5, use_cache=use_cache)
        expected = brute[definition.name]
        methods.add(preview.method)
        assert preview.people == SYNTHETIC_MARTS_PEOPLE
        assert preview.size == len(expected), definition.name
        assert preview.share == pytest.approx(len(expected) / SYNTHETIC_MARTS_PEOPLE)
        assert preview.overlaps == {
            other: len(expected & people) for other, people in brute.items() if other != definition.name
        }
        assert set(preview.sample) <= expected and len(preview.sample) == min(5, len(expected))
    assert methods == {"tag bitmaps", "profile scan", "sql"}


def test_cached_bitmaps_are_rebuilt_when_the_marts_change(client, tmp_path):
    from bench.synthetic.segment_marts import create_synthetic_marts

    database = "segtest_cache"
    create_synthetic_marts(client, database, 300)
    definitions = validate_all(SEGMENTS_DIR, client, database).valid
    name = "app_users_with_phone"  # a profile scan: its bitmap is what the cache keeps
    segment = find_definition(definitions, name)
    before = preview_segment(client, name, definitions, database)
    cached = client.query(f"SELECT count() FROM ops.segment_bitmap_cache WHERE segment = '{name}'")
    assert cached.result_rows[0][0] >= 1 and before.size == len(members(client, segment, database))

    client.command(
        f"INSERT INTO {database}.user_profile (one_id, profile_date, phone, app_user_id, has_phone) "
        "VALUES (100000, '2026-11-20', '+8613800000000', 'a100000', true)"
    )
    after = preview_segment(client, name, definitions, database)
    assert after.size == before.size + 1 == len(members(client, segment, database))
    assert after.people == 301


def test_the_marts_version_ignores_background_merges_but_not_new_rows_or_mutations(client):
    database = "segtest_version"
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(f"DROP TABLE IF EXISTS {database}.t")
    client.command(f"CREATE TABLE {database}.t (a UInt32, b String) ENGINE = MergeTree ORDER BY a")
    for start in (0, 10, 20):
        client.command(f"INSERT INTO {database}.t SELECT number, 'x' FROM numbers({start}, 10)")
    versions = [marts_version(client, database)]
    steps = [
        "OPTIMIZE TABLE {t} FINAL",  # a merge: same data
        "ALTER TABLE {t} UPDATE b = 'y' WHERE a = 1 SETTINGS mutations_sync = 1",
        "OPTIMIZE TABLE {t} FINAL",
        "INSERT INTO {t} VALUES (100, 'z')",
        "OPTIMIZE TABLE {t} FINAL",
    ]
    for step in steps:
        client.command(step.format(t=f"{database}.t"))
        versions.append(marts_version(client, database))
    assert versions[0] == versions[1] != versions[2] == versions[3] != versions[4] == versions[5]
    assert len(set(versions)) == 3


def test_previews_overlap_with_the_nights_stored_bitmaps_until_the_marts_change(client):
    """The segments stage stores each night's members of segments that need a scan; a preview reads them for its
    overlaps (no scan, no preview cache) while definition and marts are unchanged, and ignores them after."""
    from bench.synthetic.segment_marts import create_synthetic_marts

    database, night = "segtest_nightly", date(2031, 1, 1)
    create_synthetic_marts(client, database, 400)
    definitions = validate_all(SEGMENTS_DIR, client, database).valid
    tags = tag_codes(client, database)
    scanned = [d for d in definitions if preview_method(d, tags, database) != "tag bitmaps"]
    assert {"profile scan", "sql"} <= {preview_method(d, tags, database) for d in scanned}
    membership = f"{database}.segment_membership"
    client.command(f"CREATE TABLE {membership} (run_date Date, segment String, one_id UInt64) ENGINE = Memory")
    nights_members = {d.name: members(client, d, database) for d in definitions}
    target = "ios_users"  # a tag combination, computed live
    live_target = nights_members[target]
    # what the Spark stage wrote, except one of the target's people planted out of one scanned segment's night:
    # the preview must show the stored set, not a fresh scan
    planted = next(d.name for d in scanned if live_target & nights_members[d.name])
    live_overlap = len(live_target & nights_members[planted])
    nights_members[planted].remove(min(live_target & nights_members[planted]))
    rows = [(night, name, one_id) for name, ids in nights_members.items() for one_id in ids]
    client.insert(membership, rows, column_names=["run_date", "segment", "one_id"])
    try:
        assert store_nightly_bitmaps(client, night, definitions, database, membership) == len(definitions)
        assert set(stored_tonight(client, definitions, database)) == {d.name for d in definitions}
        stored = preview_segment(client, target, definitions, database, use_cache=False)
        assert stored.size == len(live_target)
        assert stored.overlaps[planted] == live_overlap - 1
        for definition in definitions:
            if definition.name != target:
                assert stored.overlaps[definition.name] == len(live_target & nights_members[definition.name])
        assert stored.tag_distribution["device_os"] == {"ios": len(live_target)}

        client.command(
            f"INSERT INTO {database}.user_profile (one_id, profile_date, phone, app_user_id, has_phone) "
            "VALUES (100000, '2026-11-20', '+8613800000000', 'a100000', true)"
        )
        assert stored_tonight(client, definitions, database) == {}, "the marts changed: computed live again"
        after = preview_segment(client, target, definitions, database, use_cache=False)
        assert after.overlaps[planted] == live_overlap
    finally:
        client.command("ALTER TABLE audience.segment_bitmaps DROP PARTITION '2031-01-01'")


def test_tag_combinations_compile_to_bitmaps(client, marts, definitions):
    for name in [*TAG_COMBINATIONS, "ios_users", "high_value_customers", "reachable_by_sms", "quiet_ios_push_ready"]:
        assert preview_segment(client, name, definitions, marts).method == "tag bitmaps", name


def test_preview_tag_distribution_equals_counts_over_user_tags(client, marts, definitions):
    definition = find_definition(definitions, "reachable_by_sms")
    preview = preview_segment(client, definition.name, definitions, marts, key_tags=["rfm_segment", "can_receive_sms"])
    ids = members(client, definition, marts)
    rows = client.query(
        f"SELECT tag_code, tag_value, one_id FROM {marts}.user_tags "
        "WHERE tag_code IN ('rfm_segment', 'can_receive_sms')"
    ).result_rows
    expected: dict[str, dict[str, int]] = {}
    for code, value, one_id in rows:
        if one_id in ids:
            expected.setdefault(code, {}).setdefault(value, 0)
            expected[code][value] += 1
    assert preview.tag_distribution == expected
    assert preview.tag_distribution["can_receive_sms"] == {"true": len(ids)}  # the segment requires it
    assert {"non_buyer", "champion"} <= set(preview.tag_distribution["rfm_segment"])


def test_preview_shows_the_key_tags_by_default(client, marts, definitions):
    preview = preview_segment(client, "ios_users", definitions, marts)
    assert set(preview.tag_distribution) == {
        "rfm_segment",
        "lifecycle_stage",
        "device_os",
        "gender",
        "coupon_sensitivity",
    }
    assert preview.tag_distribution["device_os"] == {"ios": preview.size}


def test_preview_of_an_unknown_segment_suggests_a_name(client, marts, definitions):
    with pytest.raises(NightshiftError, match="Did you mean 'ios_users'"):
        preview_segment(client, "ios_user", definitions, marts)


@pytest.fixture(scope="module")
def membership_table(client, marts):
    table = f"{marts}.segment_membership"
    client.command(f"DROP TABLE IF EXISTS {table}")
    client.command(
        f"CREATE TABLE {table} (run_date Date, segment LowCardinality(String), one_id UInt64) "
        "ENGINE = MergeTree PARTITION BY run_date ORDER BY (run_date, segment, one_id)"
    )
    runs = {date(2026, 11, 18): [1, 2, 3, 4], date(2026, 11, 20): [3, 4, 5, 6, 7]}
    rows = [(day, "vip", one_id) for day, ids in runs.items() for one_id in ids]
    rows.append((date(2026, 11, 19), "other", 99))  # another segment's run in between is not "the previous run"
    client.insert(table, rows, column_names=["run_date", "segment", "one_id"])
    return table


def test_diff_lists_who_entered_and_exited_since_the_previous_run(client, membership_table):
    diff = diff_segment(client, "vip", date(2026, 11, 20), table=membership_table)
    assert diff.previous_date == date(2026, 11, 18)
    assert (diff.current, diff.previous, diff.entered, diff.exited) == (5, 4, 3, 2)
    assert diff.entered_sample == [5, 6, 7] and diff.exited_sample == [1, 2]


def test_cli_diff(membership_table):
    result = CliRunner().invoke(segment_app, ["diff", "vip", "--date", "2026-11-20", "--table", membership_table])
    assert result.exit_code == 0, result.output
    assert "2026-11-18" in result.output and "entered 3" in result.output and "exited  2" in result.output


def test_diff_of_a_first_run_has_everyone_entering(client, membership_table):
    diff = diff_segment(client, "vip", date(2026, 11, 18), table=membership_table)
    assert diff.previous_date is None and diff.entered == 4 and diff.exited == 0


def test_diff_without_a_run_for_the_date_says_what_to_do(client, membership_table):
    with pytest.raises(NightshiftError, match="run the segments stage for that date first"):
        diff_segment(client, "vip", date(2026, 11, 21), table=membership_table)


def _profile_row(client, marts, one_id: int) -> dict:
    result = client.query(f"SELECT * FROM {marts}.user_profile WHERE one_id = {one_id}")
    return dict(zip(result.column_names, result.result_rows[0], strict=True))


def test_explain_evaluates_each_condition_for_one_person(client, marts, definitions):
    definition = find_definition(definitions, "reachable_by_sms")
    ids = members(client, definition, marts)
    member = min(ids)
    outsider = next(i for i in range(1, SYNTHETIC_MARTS_PEOPLE + 1) if i not in ids)
    inside = explain_segment(client, definition, member, marts)
    assert inside.is_member and inside.found
    assert all(c.held for c in inside.conditions if c.depth <= 1)

    outside = explain_segment(client, definition, outsider, marts)
    row = _profile_row(client, marts, outsider)
    expected = {
        "can_receive_sms = 1": row["can_receive_sms"] == 1,
        "is_sms_unsubscribed = 0": row["is_sms_unsubscribed"] == 0,
        "NOT is_blacklisted": not row["is_blacklisted"],
        "NOT is_internal_test_account": not row["is_internal_test_account"],
    }
    top = {c.condition: c.held for c in outside.conditions if c.depth == 1}
    assert not outside.is_member and top == expected and not all(expected.values())
    assert outside.values["can_receive_sms"] == row["can_receive_sms"]


def test_explain_reports_null_conditions(client, marts, definitions):
    definition = find_definition(definitions, "high_value_customers")
    (one_id,) = client.query(f"SELECT min(one_id) FROM {marts}.user_profile WHERE rfm_m_score IS NULL").result_rows[0]
    explanation = explain_segment(client, definition, one_id, marts)
    held = {c.condition: c.held for c in explanation.conditions}
    assert held["rfm_segment IN ('champion', 'loyal')"] is False  # a non-buyer
    assert held["rfm_m_score IN (4, 5)"] is None
    assert held["rfm_segment IN ('champion', 'loyal') OR rfm_m_score IN (4, 5)"] is None
    assert not explanation.is_member and explanation.values["rfm_m_score"] is None


def test_explain_through_a_join_and_for_an_unknown_person(client, marts, definitions):
    definition = find_definition(definitions, "trade_in_prospects_push_ready")
    one_id = min(members(client, definition, marts))
    explanation = explain_segment(client, definition, one_id, marts)
    assert explanation.is_member and all(c.held for c in explanation.conditions)
    nobody = explain_segment(client, definition, 10 * SYNTHETIC_MARTS_PEOPLE, marts)
    assert not nobody.found and not nobody.is_member and nobody.conditions == []


def test_cli_preview_and_explain(client, marts, definitions):
    runner = CliRunner()
    result = runner.invoke(segment_app, ["preview", "ios_users", "--database", marts, "--sample", "3"])
    assert result.exit_code == 0, result.output
    size = len(members(client, find_definition(definitions, "ios_users"), marts))
    assert f"ios_users: {size:,} people" in result.output and "tag bitmaps" in result.output
    assert "reachable_by_sms" in result.output  # the overlap table lists the other segments
    result = runner.invoke(segment_app, ["explain", "reachable_by_sms", "--one-id", "1", "--database", marts])
    assert result.exit_code == 0, result.output
    assert "can_receive_sms = 1" in result.output and "one_id 1 is" in result.output
