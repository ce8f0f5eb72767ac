"""Segments stage: evaluate every segment file in Spark over the run date's user profile.

Contract: reads `marts.user_profile` (exported to the lake as Parquet by ClickHouse), writes
`audience.segment_membership` (run_date, segment, one_id) for the run date, replacing that date's partition.
"""

from __future__ import annotations

from nightshift.lake import dataset_path, lake_to_table, table_to_lake
from nightshift.pipeline import StageContext, StageResult
from nightshift.segment_files import load_segment_files
from nightshift.tables import drop_date_partition, table_exists

MEMBERSHIP_DDL = """
CREATE TABLE IF NOT EXISTS audience.segment_membership
(
    run_date  Date,
    segment   LowCardinality(String),
    one_id    UInt64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, segment, one_id)
"""

# Spark reads the profile through Parquet; unsigned ids are widened to Int64 because Spark has no unsigned types.
PROFILE_EXPORT_SQL = "SELECT * REPLACE (toInt64(one_id) AS one_id) FROM marts.user_profile"


def run(ctx: StageContext) -> StageResult:
    client = ctx.client
    client.command(MEMBERSHIP_DDL)
    drop_date_partition(client, "audience.segment_membership", ctx.run_date)
    if not table_exists(client, "marts.user_profile"):
        return StageResult("segments", ctx.run_date, summary="marts.user_profile does not exist yet: nothing to do")

    lake = ctx.settings.lake_root
    profile_path = dataset_path(lake, "user_profile", ctx.run_date)
    membership_path = dataset_path(lake, "segment_membership", ctx.run_date)
    exported = table_to_lake(client, PROFILE_EXPORT_SQL, profile_path)

    from nightshift.spark import get_spark
    from pyspark.sql import functions as F
    from spark_jobs.segments import segment_membership

    spark = get_spark("nightshift-segments", ctx.settings)
    definitions = {segment.name: segment.sql for segment in load_segment_files()}
    profile = spark.read.parquet(profile_path)
    membership = segment_membership(spark, profile, definitions).select(
        F.lit(ctx.run_date).alias("run_date"), "segment", "one_id"
    )
    membership.coalesce(1).write.mode("overwrite").parquet(membership_path)

    loaded = lake_to_table(client, membership_path, "audience.segment_membership")
    sizes = dict(
        client.query(
            "SELECT segment, count() FROM audience.segment_membership WHERE run_date = {d:Date} GROUP BY segment",
            parameters={"d": ctx.run_date},
        ).result_rows
    )
    summary = ", ".join(f"{name}: {sizes.get(name, 0)}" for name in sorted(definitions)) or "no segments defined"
    return StageResult(
        "segments",
        ctx.run_date,
        rows={"lake.user_profile": exported.rows, "audience.segment_membership": loaded.rows},
        outputs={"membership_parquet": membership_path},
        summary=summary,
    )
