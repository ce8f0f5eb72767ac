"""Pure DataFrame functions of the Spark jobs, on tiny inline DataFrames and a local session."""

from pyspark.testing import assertDataFrameEqual

from spark_jobs.reconcile import missing_deliveries, reconciliation_counts
from spark_jobs.segments import segment_membership, to_spark_sql


def test_clickhouse_segment_sql_is_transpiled_for_spark():
    spark_sql = to_spark_sql("SELECT one_id FROM marts.user_profile WHERE has_phone AND lower(os) = 'ios'")
    assert "marts." not in spark_sql
    assert "user_profile" in spark_sql


def test_segment_membership_evaluates_every_definition(spark):
    profile = spark.createDataFrame(
        [(1, "ios", True), (2, "android", False), (3, "iOS", True), (4, None, False)],
        "one_id long, os string, has_phone boolean",  # as marts.user_profile reaches Spark: Bool -> boolean
    )
    membership = segment_membership(
        spark,
        profile,
        {
            "with_phone": "SELECT one_id FROM marts.user_profile WHERE has_phone",
            "ios": "SELECT one_id FROM marts.user_profile WHERE lower(os) = 'ios'",
        },
    )
    expected = spark.createDataFrame(
        [("ios", 1), ("ios", 3), ("with_phone", 1), ("with_phone", 3)], "segment string, one_id long"
    )
    assertDataFrameEqual(membership, expected)


def test_reconciliation_counts_add_up_and_batch_is_deterministic(spark):
    planned = spark.createDataFrame([("a", 1), ("a", 2), ("a", 3), ("b", 4)], "segment string, one_id long")
    recorded = spark.createDataFrame([("a", 2), ("b", 4), ("b", 99)], "segment string, one_id long")
    counts = {row.segment: row.asDict() for row in reconciliation_counts(planned, recorded).collect()}
    assert counts["a"] == {"segment": "a", "planned": 3, "recorded": 1, "missing": 2}
    assert counts["b"] == {"segment": "b", "planned": 1, "recorded": 1, "missing": 0}  # 99 was never planned

    first = missing_deliveries(planned, recorded, "2026-11-20")
    again = missing_deliveries(planned, recorded, "2026-11-20")
    assertDataFrameEqual(first, again)
    assert sorted(row.one_id for row in first.collect()) == [1, 3]
    assert first.select("replenishment_batch_id").distinct().count() == 1
