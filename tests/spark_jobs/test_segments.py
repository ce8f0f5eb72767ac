"""The same segment definition gives the same members in Spark and in ClickHouse.

Synthetic marts with the real profile columns (NULL tags, empty strings, arrays, mixed case, non-ASCII, dates) are
built in the session warehouse, exported to Parquet by the segments stage's own export SQL, and every shipped segment
plus extra definitions covering the ClickHouse-specific functions the transpiler rewrites are evaluated in both
engines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nightshift.segments import SegmentDefinition, validate_all
from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, clickhouse_sql
from nightshift.segments.files import SEGMENTS_DIR
from spark_jobs.segments import materialise_segments, profile_condition, segment_membership, to_spark_sql

# Definitions that exercise what sqlglot does not map (or maps with other semantics) from ClickHouse to Spark.
EXTRA_SEGMENTS = {
    "bytes_not_chars": "SELECT one_id FROM marts.user_profile WHERE length(city) = 6",
    "chars": "SELECT one_id FROM marts.user_profile WHERE lengthUTF8(city) = 2",
    "empty_strings": "SELECT one_id FROM marts.user_profile WHERE empty(phone) OR notEmpty(xiaoe_user_id)",
    "bare_flags": "SELECT one_id FROM marts.user_profile "
    "WHERE can_receive_sms AND NOT (has_complaint OR is_blacklisted) AND has_phone",
    "alias_in_where": "SELECT one_id, lowerUTF8(timezone) AS tz FROM marts.user_profile WHERE tz = 'asia/shanghai'",
    "multi_if": "SELECT one_id FROM marts.user_profile "
    "WHERE multiIf(os = 'ios', 'apple', os IN ('android', 'harmonyos'), 'other', 'unknown') = 'unknown'",
    "dates": "SELECT one_id FROM marts.user_profile WHERE last_active_date >= toDate('2026-08-01') "
    "AND toYYYYMM(last_active_date) != 202610 AND addDays(first_seen_date, 30) < profile_date",
    "date_diff_months": "SELECT one_id FROM marts.user_profile "
    "WHERE dateDiff('month', first_seen_date, profile_date) = 3",
    "date_diff_years": "SELECT one_id FROM marts.user_profile "
    "WHERE dateDiff('year', first_seen_date, last_active_date) = 1",
    "nullable_numbers": "SELECT one_id FROM marts.user_profile "
    "WHERE coalesce(days_since_last_purchase, 9999) >= 90 AND lifetime_spend > 300.5 AND rfm_monetary < 700",
    "safe_casts": "SELECT one_id FROM marts.user_profile "
    "WHERE toInt32OrZero(cdnow_customer_id) + toInt64OrZero(city) >= 4 AND toInt32OrNull(city) IS NULL",
    "to_string": "SELECT one_id FROM marts.user_profile WHERE toString(can_receive_wecom) = '1'",
    "arrays": "SELECT one_id FROM marts.user_profile WHERE has(['male', 'female'], gender) "
    "AND arrayExists(x -> x = device_os, ['ios'])",
    "array_columns": "SELECT one_id FROM marts.user_profile "
    "WHERE has(categories_browsed, 'phone') AND length(categories_browsed) <= 2 OR notEmpty(opted_out_channels)",
    "case_insensitive": "SELECT one_id FROM marts.user_profile WHERE upperUTF8(city) = 'SHANGHAI' AND os ILIKE 'IOS'",
    "anti_join": "SELECT p.one_id AS one_id FROM marts.user_profile AS p "
    "LEFT JOIN (SELECT one_id, tag_value FROM marts.user_tags WHERE tag_code = 'rfm_r_score') AS t "
    "ON t.one_id = p.one_id WHERE t.tag_value IS NULL",
    "group_by": "SELECT one_id FROM marts.user_tags GROUP BY one_id HAVING countIf(tag_value = 'none') >= 3 "
    "AND count() >= 30",
    "three_valued_not": "SELECT one_id FROM marts.user_profile WHERE NOT (rfm_r_score = 5) AND os != 'ios'",
    "all_people": "SELECT one_id FROM marts.user_profile",
    "star": "SELECT * FROM marts.user_profile WHERE gender = 'female' AND device_os IN ('ios')",
    "in_subquery": "SELECT one_id FROM marts.user_profile WHERE can_receive_sms = 1 AND one_id IN "
    "(SELECT one_id FROM marts.user_tags WHERE tag_code = 'city' AND tag_value = '北京')",
}


@pytest.fixture(scope="module")
def marts(synthetic_marts) -> str:
    return synthetic_marts  # shared, read-only (tests/conftest.py)


@pytest.fixture(scope="module")
def definitions(marts, client, tmp_path_factory) -> list[SegmentDefinition]:
    directory = tmp_path_factory.mktemp("segments")
    for path in SEGMENTS_DIR.glob("*.sql"):
        (directory / path.name).write_text(path.read_text())
    for name, sql in EXTRA_SEGMENTS.items():
        (directory / f"{name}.sql").write_text(f"-- name: {name}\n-- owner: tests\n-- description: {name}\n{sql}\n")
    report = validate_all(directory, client, marts)
    assert report.errors == []
    return report.valid


@pytest.fixture(scope="module")
def spark_tables(spark, client, marts, tmp_path_factory):
    from nightshift.lake import table_to_lake
    from nightshift.segments.schema import warehouse_schema
    from nightshift.stages.segments import export_sql

    lake = tmp_path_factory.mktemp("lake")
    schema = warehouse_schema(client, marts)
    tables = {}
    for table in ("user_profile", "user_tags"):
        # as in the segments stage: Spark has no unsigned 64-bit type, so ids are widened to Int64
        path = str(lake / table)
        table_to_lake(client, export_sql(table, schema[table], marts), path)
        tables[table] = spark.read.parquet(path)
    return tables


def _clickhouse_members(client, definition: SegmentDefinition, database: str) -> set[int]:
    rows = client.query(
        f"SELECT DISTINCT one_id FROM ({clickhouse_sql(definition, database)})", settings=CLICKHOUSE_SEGMENT_SETTINGS
    ).result_rows
    return {int(one_id) for (one_id,) in rows}


@pytest.fixture(scope="module")
def membership(spark, definitions, spark_tables):
    frame = materialise_segments(spark, spark_tables, definitions)
    return frame.schema.simpleString(), [(row.segment, row.one_id) for row in frame.collect()]


def test_every_segment_has_the_same_members_in_spark_and_clickhouse(client, marts, definitions, membership):
    by_segment: dict[str, set[int]] = {d.name: set() for d in definitions}
    for segment, one_id in membership[1]:
        by_segment[segment].add(one_id)
    shipped = {path.stem for path in SEGMENTS_DIR.glob("*.sql")}
    assert shipped <= set(by_segment)
    mismatches = {}
    for definition in definitions:
        expected = _clickhouse_members(client, definition, marts)
        assert expected, f"{definition.name} is empty on the synthetic data: the comparison would prove nothing"
        if by_segment[definition.name] != expected:
            mismatches[definition.name] = (len(by_segment[definition.name]), len(expected))
    assert mismatches == {}, f"segment: (spark members, clickhouse members) differ: {mismatches}"


def test_membership_rows_are_unique_and_typed(membership):
    schema, rows = membership
    assert schema == "struct<segment:string,one_id:bigint>"
    assert len(rows) == len(set(rows))


def test_plain_profile_segments_share_one_pass_and_others_run_as_sql(definitions):
    from nightshift.segments.spark_sql import spark_tree

    shapes = {d.name: profile_condition(spark_tree(d.expression, d.schema)) is not None for d in definitions}
    assert shapes["reachable_by_sms"] and shapes["ios_users"] and shapes["star"] and shapes["alias_in_where"]
    assert not shapes["trade_in_prospects_push_ready"] and not shapes["anti_join"] and not shapes["group_by"]
    assert not shapes["in_subquery"]


def test_transpiled_sql_reads_temp_views_and_rewrites_clickhouse_functions():
    spark_sql = to_spark_sql(
        "SELECT one_id FROM marts.user_profile WHERE notEmpty(phone) AND multiIf(a = 1, 1, 0) = 1 AND is_blacklisted"
    )
    assert "marts." not in spark_sql and "marts__user_profile" in spark_sql
    assert "phone <> ''" in spark_sql and "CASE WHEN" in spark_sql and "CAST(is_blacklisted AS BOOLEAN)" in spark_sql


def test_segment_membership_keeps_the_profile_only_entry_point(spark):
    profile = spark.createDataFrame([(1, "ios", 1), (2, None, 0), (3, "iOS", 1)], "one_id long, os string, flag int")
    rows = segment_membership(spark, profile, {"ios": "SELECT one_id FROM marts.user_profile WHERE lower(os) = 'ios'"})
    assert sorted((row.segment, row.one_id) for row in rows.collect()) == [("ios", 1), ("ios", 3)]


def test_a_segment_whose_table_was_not_given_is_skipped_not_fatal(spark, spark_tables):
    definitions = {
        "tags": "SELECT one_id FROM marts.user_tags WHERE tag_code = 'device_os'",
        "sms": "SELECT one_id FROM marts.user_profile WHERE can_receive_sms = 1",
    }
    membership = materialise_segments(spark, {"user_profile": spark_tables["user_profile"]}, definitions)
    assert {row.segment for row in membership.select("segment").distinct().collect()} == {"sms"}


def test_no_definitions_give_an_empty_membership(spark, spark_tables):
    assert materialise_segments(spark, spark_tables, []).count() == 0


def test_reads_segment_files_as_definitions(spark, spark_tables, tmp_path: Path):
    (tmp_path / "sms.sql").write_text(
        "-- name: sms\n-- owner: t\n-- description: d\n"
        "SELECT one_id FROM marts.user_profile WHERE can_receive_sms = 1\n"
    )
    from nightshift.segments import load_segment_files

    membership = materialise_segments(spark, spark_tables, load_segment_files(tmp_path))
    assert membership.where("segment = 'sms'").count() > 0


def _plan(frame, stage: str) -> str:
    """The frame's physical plan: "static" as planned from the estimates, "final" as adaptive execution ran it."""
    execution = frame._jdf.queryExecution()
    return (execution.sparkPlan() if stage == "static" else execution.executedPlan()).toString()


def test_a_join_of_people_scale_tables_is_not_broadcast_on_the_parquet_estimate(spark, spark_tables):
    """At 10M people the static plan broadcast the profile's ids filtered for app push (estimated from compressed
    Parquet at 8.6 MiB) and the driver ran out of memory. Under PEOPLE_SCALE_JOINS the static plan shuffles both
    sides; adaptive execution still broadcasts what it measured to be small, as these tables are."""
    from nightshift.spark import session_settings
    from spark_jobs.segments import PEOPLE_SCALE_JOINS

    trade_in = (SEGMENTS_DIR / "trade_in_prospects_push_ready.sql").read_text()
    before = {key: spark.conf.get(key, None) for key in PEOPLE_SCALE_JOINS}
    unguarded = materialise_segments(spark, spark_tables, {"trade_in": trade_in})
    assert "BroadcastHashJoin" in _plan(unguarded, "static")  # small Parquet: the estimate says broadcast
    expected = {tuple(row) for row in unguarded.collect()}

    with session_settings(spark, PEOPLE_SCALE_JOINS):
        guarded = materialise_segments(spark, spark_tables, {"trade_in": trade_in})
        static = _plan(guarded, "static")
        members = {tuple(row) for row in guarded.collect()}
        final = _plan(guarded, "final")
    assert "SortMergeJoin" in static and "BroadcastHashJoin" not in static, static
    assert "BroadcastHashJoin" in final, final  # measured small at run time: broadcast after all
    assert members == expected and len(members) > 0
    # the session's own settings are back for the stages after this one (one is unset, as it was)
    assert {key: spark.conf.get(key, None) for key in PEOPLE_SCALE_JOINS} == before
