"""Spark job: OneID identity resolution from the lake Parquet the identity stage writes, outputs as Parquet.

`run_job` reads the inputs, sizes the session for them (`sized_for`), resolves (`resolve_components`),
numbers (`assign_one_ids`) and writes identity_map, merges, splits and blocked. `main()` is the thin
spark-submit entry (`python -m spark_jobs.identity`, or this module).
"""

from __future__ import annotations

import argparse
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from nightshift.identity.config import IdentityConfig, load_identity_config
from nightshift.spark import session_settings
from spark_jobs.identity.assignment import assign_one_ids, identity_map
from spark_jobs.identity.resolution import resolve_components

# Lake inputs as the identity stage writes them; stating the schemas spares Spark a job per read to infer them.
NODES_SCHEMA = "id_type string, id_value string, first_seen_date date, last_seen_date date"
EDGES_SCHEMA = "src_type string, src_value string, dst_type string, dst_value string"
PREVIOUS_SCHEMA = "id_type string, id_value string, one_id long"
# Inputs below this many edges run with one shuffle partition and without whole-stage code generation:
# there, Spark's fixed cost per stage (task scheduling, compiling generated code) dominates the run time.
SMALL_INPUT_EDGES = 1_000_000


@dataclass(frozen=True)
class JobPaths:
    nodes: str
    edges: str
    previous: str | None
    output: str  # directory: identity_map/, merges/, splits/, blocked/ are written under it


def sized_for(spark: SparkSession, edges: int) -> AbstractContextManager[None]:
    """Shuffle partitions and code generation suited to an input of `edges` links, restored afterwards.

    Small inputs get one shuffle partition, interpreted execution and no broadcast joins (per-stage and
    per-job overhead dominates there);
    large ones the session's setting (2 x cores by default) with adaptive execution coalescing partitions.
    """
    configured = int(spark.conf.get("spark.sql.shuffle.partitions"))
    wanted = {
        "spark.sql.shuffle.partitions": str(configured if edges >= SMALL_INPUT_EDGES else 1),
        "spark.sql.codegen.wholeStage": str(edges >= SMALL_INPUT_EDGES).lower(),
        "spark.sql.adaptive.enabled": str(edges >= SMALL_INPUT_EDGES).lower(),
        # A broadcast join costs a Spark job of its own; on one partition a sort-merge join costs none.
        "spark.sql.autoBroadcastJoinThreshold": (
            spark.conf.get("spark.sql.autoBroadcastJoinThreshold") if edges >= SMALL_INPUT_EDGES else "-1"
        ),
    }
    return session_settings(spark, wanted)


def run_job(
    spark: SparkSession,
    paths: JobPaths,
    rules: IdentityConfig,
    max_issued_one_id: int,
    run_date: str,
    edge_count: int | None = None,
) -> dict[str, str]:
    """Read the lake inputs, resolve, write the outputs (each with `run_date` first) as Parquet.

    `edge_count` (rows in paths.edges) sizes the shuffles; when the caller does not know it, it is counted.
    Returns output name -> Parquet directory (identity_map, merges, splits, blocked).
    """
    nodes = spark.read.schema(NODES_SCHEMA).parquet(paths.nodes)
    edges = spark.read.schema(EDGES_SCHEMA).parquet(paths.edges)
    previous = (
        spark.read.schema(PREVIOUS_SCHEMA).parquet(paths.previous)
        if paths.previous
        else spark.createDataFrame([], PREVIOUS_SCHEMA)
    )
    if edge_count is None:
        edge_count = edges.count()
    written = {}
    with sized_for(spark, edge_count):
        resolution = resolve_components(nodes, edges, rules)
        assignment = assign_one_ids(resolution.components, previous, max_issued_one_id)
        outputs = {
            "identity_map": identity_map(assignment),
            "merges": assignment.merges,
            "splits": assignment.splits,
            "blocked": resolution.blocked,
        }
        for name, frame in outputs.items():
            target = f"{paths.output.rstrip('/')}/{name}"
            dated = frame.select(F.lit(run_date).cast("date").alias("run_date"), "*")
            dated.write.mode("overwrite").parquet(target)
            written[name] = target
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", required=True, help="Parquet: id_type, id_value, first_seen_date, last_seen_date")
    parser.add_argument("--edges", required=True, help="Parquet: src_type, src_value, dst_type, dst_value")
    parser.add_argument("--previous", default=None, help="Parquet: id_type, id_value, one_id (previous map)")
    parser.add_argument("--config", type=Path, default=None, help="identity.yml (default: config/identity.yml)")
    parser.add_argument("--max-issued-one-id", type=int, default=0, help="largest one_id ever issued")
    parser.add_argument("--run-date", required=True, help="YYYY-MM-DD, stamped on every output row")
    parser.add_argument("--output", required=True, help="output directory")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("nightshift-identity").getOrCreate()
    paths = JobPaths(args.nodes, args.edges, args.previous, args.output)
    written = run_job(spark, paths, load_identity_config(args.config), args.max_issued_one_id, args.run_date)
    print(json.dumps(written))


if __name__ == "__main__":
    main()
