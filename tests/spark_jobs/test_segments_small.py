"""Pure DataFrame functions of the Spark jobs, on tiny inline DataFrames and a local session."""

from pyspark.testing import assertDataFrameEqual

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
