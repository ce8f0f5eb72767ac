"""Spark job: materialise segment membership from the marts tables exported to the lake.

Pure part: `materialise_segments(spark, tables, definitions)` -> DataFrame(segment, one_id). Each analyst's
ClickHouse SELECT is transpiled to Spark SQL (`nightshift.segments.spark_sql`), with `marts.<table>` read from
temp views registered from `tables`, so one definition gives the same members in both engines.

Segments of the plain form `SELECT one_id FROM marts.user_profile [WHERE condition]` (most of them) are evaluated
together in ONE pass over the profile: each condition becomes a column expression, and every row emits the names
of the segments it satisfies. Other shapes (joins, CTEs, GROUP BY) run as their own Spark SQL query.

Thin `main()` for spark-submit: reads Parquet tables, writes membership Parquet.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Mapping
from functools import reduce
from pathlib import Path

import sqlglot
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from sqlglot import exp

from nightshift.segments.schema import MARTS, MartsSchema
from nightshift.segments.spark_sql import spark_tree, to_spark_sql, view_name
from nightshift.segments.sql import DIALECT, plain_filter_condition
from nightshift.spark import session_settings

PROFILE = "user_profile"
MEMBERSHIP_SCHEMA = "segment string, one_id long"
# Run the membership's write under these (`nightshift.spark.session_settings`). A segment's joins are between
# people-scale tables (user_profile, user_tags), and Spark's plan sizes a side from its Parquet files' compressed
# bytes: at 10M people it took the profile's one_ids filtered for app push (a sorted column, estimated 8.6 MiB) for
# a small table, broadcast them and the 2g driver ran out of memory. So no join is broadcast on that estimate;
# adaptive execution still broadcasts a side whose measured shuffle output is that small.
PEOPLE_SCALE_JOINS = {
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.sql.adaptive.autoBroadcastJoinThreshold": "10MB",
}
# Spark types -> ClickHouse-style names, for the transpiler's type-dependent rewrites (arrays vs strings).
SPARK_TO_CLICKHOUSE = {
    T.LongType: "Int64",
    T.IntegerType: "Int32",
    T.ShortType: "Int16",
    T.ByteType: "Int8",
    T.DoubleType: "Float64",
    T.FloatType: "Float32",
    T.BooleanType: "Bool",
    T.DateType: "Date",
    T.TimestampType: "DateTime64(3)",
    T.StringType: "String",
}

__all__ = ["PEOPLE_SCALE_JOINS", "materialise_segments", "segment_membership", "to_spark_sql"]


def _clickhouse_type(data_type: T.DataType) -> str:
    if isinstance(data_type, T.ArrayType):
        return f"Array({_clickhouse_type(data_type.elementType)})"
    return SPARK_TO_CLICKHOUSE.get(type(data_type), "String")


def schema_of(tables: Mapping[str, DataFrame]) -> MartsSchema:
    return {
        name: {field.name: _clickhouse_type(field.dataType) for field in frame.schema.fields}
        for name, frame in tables.items()
    }


def _as_queries(definitions: Iterable | Mapping[str, str]) -> list[tuple[str, exp.Query]]:
    """(name, parsed ClickHouse query) from SegmentDefinitions, SegmentFiles or a {name: sql} mapping."""
    # a SegmentFile's query_sql is its SELECT narrowed to its sample (a SegmentDefinition's sql already is)
    items = (
        definitions.items()
        if isinstance(definitions, Mapping)
        else ((d.name, getattr(d, "query_sql", d.sql)) for d in definitions)
    )
    return sorted((name, sqlglot.parse_one(sql, read=DIALECT)) for name, sql in items)


def profile_condition(tree: exp.Query) -> exp.Expression | None:
    """The WHERE of `SELECT one_id FROM <profile view> [WHERE ...]` (TRUE when absent), else None."""
    return plain_filter_condition(tree, lambda table: table.name == view_name(PROFILE))


def materialise_segments(
    spark: SparkSession, tables: Mapping[str, DataFrame], definitions: Iterable | Mapping[str, str]
) -> DataFrame:
    """One row per (segment, one_id) for every definition, evaluated over the marts `tables` (name -> DataFrame)."""
    schema = schema_of(tables)
    queries = []
    for name, query in _as_queries(definitions):
        missing = {t.name for t in query.find_all(exp.Table) if t.db.lower() == MARTS} - set(tables)
        if missing:  # one segment without its input must not stop the others
            logging.getLogger(__name__).warning(
                "segment %s skipped: marts table(s) %s were not given to Spark", name, ", ".join(sorted(missing))
            )
            continue
        queries.append((name, query))
    trees = [(name, spark_tree(query, schema)) for name, query in queries]
    conditions = {name: profile_condition(tree) for name, tree in trees}
    complex_trees = [(name, tree) for name, tree in trees if conditions[name] is None]

    simple = {name: condition for name, condition in conditions.items() if condition is not None}

    frames = dict(tables)
    profile_in_sql = any(t.name == view_name(PROFILE) for _, tree in complex_trees for t in tree.find_all(exp.Table))
    if PROFILE in frames and simple and profile_in_sql:
        frames[PROFILE] = frames[PROFILE].cache()  # one scan feeds the single pass and the other queries
    for name, frame in frames.items():
        frame.createOrReplaceTempView(view_name(name))

    parts: list[DataFrame] = []
    if simple:
        in_segment = [F.when(F.expr(condition.sql(dialect="spark")), F.lit(name)) for name, condition in simple.items()]
        parts.append(
            frames[PROFILE]
            .select(F.col("one_id").cast("long").alias("one_id"), F.explode(F.array(*in_segment)).alias("segment"))
            .where(F.col("segment").isNotNull())
            .select("segment", "one_id")
        )
    for name, tree in complex_trees:
        members = spark.sql(tree.sql(dialect="spark")).select(F.col("one_id").cast("long").alias("one_id"))
        parts.append(members.select(F.lit(name).alias("segment"), "one_id").distinct())
    if not parts:
        return spark.createDataFrame([], MEMBERSHIP_SCHEMA)
    return reduce(DataFrame.unionByName, parts).where(F.col("one_id").isNotNull())


def segment_membership(spark: SparkSession, profile: DataFrame, segment_sql: Mapping[str, str]) -> DataFrame:
    """Membership when the segments read only `marts.user_profile` (the stage's original entry point)."""
    return materialise_segments(spark, {PROFILE: profile}, segment_sql)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", action="append", default=[], help="marts table as name=parquet_path")
    parser.add_argument("--segments-dir", type=Path, default=None, help="directory of segment files (.sql, rule .yml)")
    parser.add_argument("--output", required=True, help="Parquet output path")
    args = parser.parse_args(argv)
    from nightshift.segments.files import SEGMENTS_DIR
    from nightshift.segments.loading import load_segment_files

    spark = SparkSession.builder.appName("nightshift-segments").getOrCreate()
    tables = {name: spark.read.parquet(path) for name, path in (item.split("=", 1) for item in args.table)}
    definitions = load_segment_files(args.segments_dir or SEGMENTS_DIR)
    with session_settings(spark, PEOPLE_SCALE_JOINS):
        materialise_segments(spark, tables, definitions).write.mode("overwrite").parquet(args.output)


if __name__ == "__main__":
    main()
