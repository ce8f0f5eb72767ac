"""Spark job: materialise segment membership from the wide user profile.

Pure part: `segment_membership(spark, profile, segment_sql)` -> DataFrame(segment, one_id). The analyst's
ClickHouse SQL is transpiled to Spark SQL with sqlglot, and `marts.<table>` references are pointed at
temporary views registered from lake Parquet, so the same definition runs in both engines.
Thin `main()` for spark-submit: reads the profile Parquet, writes membership Parquet.
"""

from __future__ import annotations

import argparse
from functools import reduce

import sqlglot
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

PROFILE_VIEW = "user_profile"


def to_spark_sql(clickhouse_sql: str) -> str:
    """Transpile a ClickHouse SELECT to Spark SQL, with `marts.x` read from the temp view `x`."""
    tree = sqlglot.parse_one(clickhouse_sql, read="clickhouse")
    for table in tree.find_all(sqlglot.exp.Table):
        if table.db == "marts":
            table.set("db", None)
    return tree.sql(dialect="spark")


def segment_membership(spark: SparkSession, profile: DataFrame, segment_sql: dict[str, str]) -> DataFrame:
    """One row per (segment, one_id) for every segment definition, evaluated over `profile`."""
    profile.createOrReplaceTempView(PROFILE_VIEW)
    per_segment = [
        spark.sql(to_spark_sql(sql)).select(F.lit(name).alias("segment"), F.col("one_id").cast("long"))
        for name, sql in sorted(segment_sql.items())
    ]
    if not per_segment:
        return spark.createDataFrame([], "segment string, one_id long")
    return reduce(DataFrame.unionByName, per_segment).distinct()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", required=True, help="Parquet path of marts.user_profile")
    parser.add_argument("--segment", action="append", default=[], help="name=path/to/segment.sql")
    parser.add_argument("--output", required=True, help="Parquet output path")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("nightshift-segments").getOrCreate()
    from nightshift.segment_files import parse_segment_file
    from pathlib import Path

    definitions = {}
    for item in args.segment:
        segment = parse_segment_file(Path(item.split("=", 1)[1]))
        definitions[segment.name] = segment.sql
    profile = spark.read.parquet(args.profile)
    segment_membership(spark, profile, definitions).write.mode("overwrite").parquet(args.output)


if __name__ == "__main__":
    main()
