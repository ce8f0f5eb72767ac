"""Identity resolution benchmark: the Spark job on a synthetic night, beside a single-process reference.

    python -m bench.identity                                   # 1M, 3M, 10M and 30M person links
    python -m bench.identity --links 3000000

Per scale, a night is written first as the identity stage writes it (bench/synthetic/identity_graph.py: people
with four ids, pairs of people joined, a hub, a blocklisted id, a long path, and a previous map that makes
merges and splits). Then, timed:
- reference: `scipy.sparse.csgraph.connected_components` on the same edges as 64-bit node keys, in this process
  (read the key pairs from Parquet, index them, label them): components only, no strings, no rules;
- Spark components: `connected_components` on the same key pairs (read included), components only; as in the
  job, a graph of at most `LOCAL_FINISH_EDGES` (2M) links, or what is left of one after a Spark step, is
  labelled on the driver (so 1M runs no star step, larger scales one or more before finishing there);
- Spark job: `spark_jobs.identity.run_job` end to end, as the stage runs it: read the string ids, blocklist, key,
  resolve, cut hubs, number one_ids against the previous map, join the strings back and write the four outputs.
Wall seconds, the Spark JVM's CPU seconds and the 1-minute load before and after each figure are printed, and
the output checksums, equal before and after a change (the guard at small scale is
tests/spark_jobs/test_identity_checksum.py).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from rich.console import Console
from rich.table import Table

from bench import frame_checksum, jvm_cpu_seconds, load_average, machine_description

DEFAULT_LINKS = (1_000_000, 3_000_000, 10_000_000, 30_000_000)
GOAL_LINKS, GOAL_SECONDS = 30_000_000, 120
RUN_DATE = "2026-11-20"


def scipy_components(key_pairs: str) -> tuple[float, int]:
    """Seconds to label the components of the (src, dst) 64-bit key pairs in Parquet `key_pairs`, and how many."""
    import numpy as np
    import pyarrow.parquet as pq
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    started = time.perf_counter()
    pairs = pq.read_table(key_pairs, columns=["src", "dst"])
    src, dst = pairs.column("src").to_numpy(), pairs.column("dst").to_numpy()
    keys, index = np.unique(np.concatenate([src, dst]), return_inverse=True)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (index[: len(src)], index[len(src) :])), (len(keys),) * 2)
    components, _ = connected_components(graph.tocsr(), directed=False)
    return time.perf_counter() - started, components


def bench_identity(links: int) -> dict:
    """Write a night of `links` person links, then time the reference, Spark components and the whole job."""
    os.environ.setdefault("NIGHTSHIFT_HOME", tempfile.mkdtemp(prefix="nightshift-bench-identity-"))
    from pyspark.sql import functions as F

    from bench.synthetic.identity_graph import RULES, identity_night
    from nightshift.spark import get_spark
    from spark_jobs.identity import JobPaths, connected_components, node_key, run_job, sized_for

    spark = get_spark("nightshift-bench-identity")
    scratch = tempfile.mkdtemp(prefix="identity-bench-", dir=os.environ["NIGHTSHIFT_HOME"])
    night = identity_night(spark, links, f"{scratch}/night")
    edges = spark.read.parquet(night.edges)
    keyed = edges.select(node_key("src_type", "src_value").alias("src"), node_key("dst_type", "dst_value").alias("dst"))
    keyed.write.mode("overwrite").parquet(f"{scratch}/key_pairs")

    figures: dict = {"links": night.links}
    load = load_average(one_minute=True)
    figures["reference_s"], figures["reference_components"] = scipy_components(f"{scratch}/key_pairs")
    figures["reference_load"] = f"{load} -> {load_average(one_minute=True)}"

    with sized_for(spark, night.links):  # as run_job sizes the session for this input
        load, cpu, started = load_average(one_minute=True), jvm_cpu_seconds(spark), time.perf_counter()
        components = connected_components(spark.read.parquet(f"{scratch}/key_pairs"))
        figures["components_found"] = components.select("component").distinct().count()
        figures["components_s"] = time.perf_counter() - started
        figures["components_cpu_s"] = jvm_cpu_seconds(spark) - cpu
        figures["components_load"] = f"{load} -> {load_average(one_minute=True)}"

    paths = JobPaths(night.nodes, night.edges, night.previous, f"{scratch}/output")
    load, cpu, started = load_average(one_minute=True), jvm_cpu_seconds(spark), time.perf_counter()
    written = run_job(spark, paths, RULES, night.max_issued_one_id, RUN_DATE, edge_count=night.links)
    figures["job_s"] = time.perf_counter() - started
    figures["job_cpu_s"] = jvm_cpu_seconds(spark) - cpu
    figures["job_load"] = f"{load} -> {load_average(one_minute=True)}"
    outputs = {name: spark.read.parquet(path) for name, path in written.items()}
    figures["people"] = outputs["identity_map"].agg(F.countDistinct("one_id")).first()[0]
    figures["checksums"] = {name: frame_checksum(frame) for name, frame in outputs.items()}
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, nargs="+", default=list(DEFAULT_LINKS), help="person links per scale")
    args = parser.parse_args(argv)
    console = Console(width=180)
    console.print(
        f"machine: {machine_description()}; Spark local[2]; goal: {GOAL_LINKS:,} links resolved in under "
        f"{GOAL_SECONDS} s"
    )
    table = Table(title="identity resolution: Spark job vs single-process reference (scipy, components only)")
    for column in (
        "links",
        "reference s",
        "Spark components s (CPU s)",
        "components / reference",
        "Spark job s (CPU s)",
        "job / reference",
        "job links/s",
        "people",
        "load before -> after: reference | components | job",
    ):
        table.add_column(column, justify="right")
    checksums = []
    for links in args.links:
        figures = bench_identity(links)
        if figures["components_found"] != figures["reference_components"]:
            console.print(
                f"[red]Spark found {figures['components_found']:,} components, the reference "
                f"{figures['reference_components']:,}[/]"
            )
        reference = figures["reference_s"]
        table.add_row(
            f"{figures['links']:,}",
            f"{reference:.1f}",
            f"{figures['components_s']:.1f} ({figures['components_cpu_s']:.0f})",
            f"{figures['components_s'] / reference:.1f}x",
            f"{figures['job_s']:.1f} ({figures['job_cpu_s']:.0f})",
            f"{figures['job_s'] / reference:.1f}x",
            f"{figures['links'] / figures['job_s']:,.0f}",
            f"{figures['people']:,}",
            f"{figures['reference_load']} | {figures['components_load']} | {figures['job_load']}",
        )
        sums = ", ".join(f"{name} {value}" for name, value in figures["checksums"].items())
        checksums.append(f"{figures['links']:,} links: {sums}")
        console.print(table)  # after every scale: the large ones take minutes
    console.print("checksums (<rows>:<sum of xxhash64 over every column>), equal before and after a change:")
    for line in checksums:
        console.print(f"  {line}")


if __name__ == "__main__":
    main()
