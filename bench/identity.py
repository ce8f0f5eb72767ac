"""Identity resolution benchmark on a synthetic identity graph of a chosen size.

    python -m bench.identity                      # default scales (DEFAULT_EDGES)
    python -m bench.identity --edges 3000000 10000000

The graph looks like real identity data: people with four ids each (a star of three links around their
first id), and every 100th link glues neighbouring people into chains of ~33 people, so components have
depth and the contraction needs several rounds. Prints edges/s for connected components alone and for the
whole resolution (string ids -> components -> stable one_ids against an empty previous map), with the
1-minute load average next to each figure: other jobs on the machine slow Spark down.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

IDS_PER_PERSON = 4
CHAIN_EVERY = 100  # one link in this many joins two neighbouring people
# Default scales keep `make bench` (which runs this with no arguments) within a few minutes on 2 cores.
DEFAULT_EDGES = (1_000_000, 3_000_000)


def synthetic_edges(spark, edges: int):
    """edges rows of (src_type, src_value, dst_type, dst_value)."""
    from pyspark.sql import functions as F

    links = spark.range(edges).select(
        (F.col("id") / (IDS_PER_PERSON - 1)).cast("long").alias("person"),
        (F.col("id") % (IDS_PER_PERSON - 1) + 1).alias("slot"),
        (F.col("id") % CHAIN_EVERY == 0).alias("is_chain"),
    )
    other_person = F.when(F.col("is_chain"), F.col("person") + 1).otherwise(F.col("person"))
    other_slot = F.when(F.col("is_chain"), F.lit(0)).otherwise(F.col("slot"))
    return links.select(
        F.lit("app_user_id").alias("src_type"),
        F.concat(F.lit("U"), F.col("person").cast("string")).alias("src_value"),
        F.when(other_slot == 0, F.lit("app_user_id")).otherwise(F.lit("device_id")).alias("dst_type"),
        F.concat(
            F.when(other_slot == 0, F.lit("U")).otherwise(F.lit("D")),
            other_person.cast("string"),
            F.when(other_slot == 0, F.lit("")).otherwise(F.concat(F.lit("-"), other_slot.cast("string"))),
        ).alias("dst_value"),
    )


def bench_identity(edges: int) -> dict[str, float]:
    """Run connected components and the full resolution on `edges` synthetic links; print and return edges/s."""
    if "NIGHTSHIFT_HOME" not in os.environ:  # one temporary home for all scales of a run
        os.environ["NIGHTSHIFT_HOME"] = tempfile.mkdtemp(prefix="nightshift-bench-identity-")
    from pyspark.sql import functions as F

    from nightshift.identity.config import IdentityConfig
    from nightshift.spark import get_spark
    from spark_jobs.identity import (
        assign_one_ids,
        connected_components,
        node_key,
        resolve_components,
        sized_for,
    )

    spark = get_spark("nightshift-bench-identity")
    scratch = tempfile.mkdtemp(prefix="identity-bench-", dir=os.environ["NIGHTSHIFT_HOME"])
    synthetic_edges(spark, edges).write.mode("overwrite").parquet(f"{scratch}/edges")
    links = spark.read.parquet(f"{scratch}/edges")
    ends = links.select(F.col("src_type").alias("id_type"), F.col("src_value").alias("id_value")).union(
        links.select("dst_type", "dst_value")
    )
    ends.distinct().write.mode("overwrite").parquet(f"{scratch}/nodes")
    nodes = spark.read.parquet(f"{scratch}/nodes")
    keyed = links.select(node_key("src_type", "src_value").alias("src"), node_key("dst_type", "dst_value").alias("dst"))
    keyed.write.mode("overwrite").parquet(f"{scratch}/keyed")

    figures: dict[str, float] = {}
    with sized_for(spark, edges):  # as run_job sizes the session for this input
        started = time.perf_counter()
        components = connected_components(spark.read.parquet(f"{scratch}/keyed"))
        people = components.select("component").distinct().count()
        figures["connected_components_s"] = time.perf_counter() - started
        figures["connected_components_load"] = os.getloadavg()[0]

        started = time.perf_counter()
        resolution = resolve_components(nodes, links, IdentityConfig(max_component_size=1000))
        previous = spark.createDataFrame([], "id_type string, id_value string, one_id long")
        assignment = assign_one_ids(resolution.components, previous, 0)
        assignment.identities.write.mode("overwrite").parquet(f"{scratch}/identities")
        figures["full_resolution_s"] = time.perf_counter() - started
        figures["full_resolution_load"] = os.getloadavg()[0]

    for step in ("connected_components", "full_resolution"):
        seconds = figures[f"{step}_s"]
        figures[f"{step}_edges_per_s"] = edges / seconds
        print(
            f"identity {step:<22} {edges:>12,} edges {seconds:8.1f} s {edges / seconds:>12,.0f} edges/s"
            f"   load {figures[f'{step}_load']:.1f}"
        )
    print(f"identity people found: {people:,} (nodes {nodes.count():,})")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, nargs="+", default=list(DEFAULT_EDGES), help="one run per scale")
    for edges in parser.parse_args(argv).edges:
        bench_identity(edges)


if __name__ == "__main__":
    main()
