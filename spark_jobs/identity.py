"""Spark job: OneID identity resolution (connected components over identifier links, stable integer ids).

Pure parts, each `DataFrame -> DataFrame`:
- `connected_components(edges)`: (src, dst) long pairs -> (node, component = smallest node of its component).
  Steps of one large-star and one small-star round (Kiveris et al. 2014), each followed by a settledness
  check that also sets pendants (nodes whose only neighbour is smaller) aside as pointers; a step is one
  Spark job, its check observed while it runs, so convergence costs no separate action. The next step runs
  only on what is left: on identity graphs a fraction of a percent after the first. Converges for any input
  (paths, stars, cycles) in O(log^2 n) rounds.
- `resolve_components(nodes, edges, ...)`: identifiers -> components, with junk protection (blocklisted
  placeholder ids are dropped, hubs inside oversize components are cut, what stays oversize is not merged).
  Component sizes and the key clash check are aggregations over long keys; hub cutting runs only when needed.
- `assign_one_ids(components, previous, max_issued_one_id)`: stable `one_id`s against the previous day's map,
  with merges and splits recorded.
The junk rules are `nightshift.identity.config.IdentityConfig` (config/identity.yml).
Thin `main()` for spark-submit: reads the lake Parquet written by the identity stage, writes its outputs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F

from nightshift.identity.config import IdentityConfig, load_identity_config

ID_KEY = ["id_type", "id_value"]
# Lake inputs as the identity stage writes them; stating the schemas spares Spark a job per read to infer them.
NODES_SCHEMA = "id_type string, id_value string, first_seen_date date, last_seen_date date"
EDGES_SCHEMA = "src_type string, src_value string, dst_type string, dst_value string"
PREVIOUS_SCHEMA = "id_type string, id_value string, one_id long"
MAX_STAR_ROUNDS = 256  # alternating star rounds need O(log^2 n): far below this for any real graph
# Inputs below this many edges run with one shuffle partition and without whole-stage code generation:
# there, Spark's fixed cost per stage (task scheduling, compiling generated code) dominates the run time.
SMALL_INPUT_EDGES = 1_000_000

# monotonically_increasing_id() puts the partition index in the bits above this one.
POSITION_PARTITION_SHIFT = 33

BLOCK_REASON_BLOCKLIST = "blocklist"
BLOCK_REASON_HUB = "hub"
BLOCK_REASON_OVERSIZE = "oversize_component"


@dataclass(frozen=True)
class Resolution:
    components: DataFrame  # id_type, id_value, component (long)
    blocked: DataFrame  # id_type, id_value, reason, degree, component_size


@dataclass(frozen=True)
class Assignment:
    identities: DataFrame  # id_type, id_value, one_id
    merges: DataFrame  # surviving_one_id, merged_one_id, merged_ids
    splits: DataFrame  # original_one_id, new_one_id, moved_ids


def _materialise(frame: DataFrame) -> DataFrame:
    """Compute now and start a fresh plan from the result, so iterative plans stay small.

    `localCheckpoint` keeps the rows in executor storage (no files) and cuts the lineage; what is carried
    over from the origin plan is only statistics, which keeps chained self-joins cheap to plan.
    """
    return frame.localCheckpoint(eager=True)


def node_key(type_column: str, value_column: str) -> F.Column:
    """64-bit node key of an identifier; collisions are checked by `resolve_components`."""
    return F.xxhash64(F.col(type_column), F.col(value_column))


def _oriented(edges: DataFrame, src: str, dst: str) -> DataFrame:
    """Undirected edges as (hi, lo) with hi > lo; self loops dropped, duplicates kept.

    Duplicates are harmless to the star rounds (they look at neighbour sets) and are removed by the
    settledness check after the first round, so deduplicating here would cost a shuffle of the whole input
    for nothing.
    """
    return edges.select(F.greatest(src, dst).alias("hi"), F.least(src, dst).alias("lo")).where(
        F.col("hi") != F.col("lo")
    )


def _directed(edges: DataFrame) -> DataFrame:
    """Both directions of every (hi, lo) edge as (node, neighbour)."""
    both_ways = F.array(
        F.struct(F.col("hi").alias("node"), F.col("lo").alias("neighbour")),
        F.struct(F.col("lo").alias("node"), F.col("hi").alias("neighbour")),
    )
    return edges.select(F.explode(both_ways).alias("pair")).select("pair.node", "pair.neighbour")


def _large_star(edges: DataFrame) -> DataFrame:
    """Large-star: every node links its strictly larger neighbours to the smallest node of its neighbourhood.

    One output row per input row: duplicates stay duplicates and are removed by the next settledness check.
    """
    smallest = F.least("node", F.min("neighbour").over(Window.partitionBy("node")))
    marked = _directed(edges).select("node", "neighbour", smallest.alias("smallest"))
    return marked.where(F.col("neighbour") > F.col("node")).select(
        F.col("neighbour").alias("hi"), F.col("smallest").alias("lo")
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Small-star: every node and its smaller neighbours are linked to the smallest of them.

    Emitted as one row per input row, which needs neither an explode nor a distinct: the edge to the smallest
    neighbour links the node itself, every other edge links that neighbour.
    """
    smallest = F.min("lo").over(Window.partitionBy("hi"))
    hooked = edges.select("hi", "lo", smallest.alias("smallest"))
    is_to_smallest = F.col("lo") == F.col("smallest")
    return hooked.select(
        F.when(is_to_smallest, F.col("hi")).otherwise(F.col("lo")).alias("hi"), F.col("smallest").alias("lo")
    )


def _marked_pendants(edges: DataFrame, observation: Observation) -> DataFrame:
    """Distinct (hi, lo, is_pendant) from `edges`; computing it reports `unsettled` through `observation`.

    A pendant is a node whose only neighbour is smaller. Taking it out of the graph changes no other node's
    component and not the smallest node of its own, so it can wait, as a pointer to that neighbour, while
    the rest converges: after one star round almost every identity edge is such a pointer. `unsettled` is 1
    while some node has a smaller neighbour and another neighbour besides; 0 (or null for no edges) means
    every component is a star on its smallest node, i.e. every remaining edge is a pendant's.
    """
    sorted_around = Window.partitionBy("node").orderBy("neighbour")
    whole = sorted_around.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    smallest, largest = F.min("neighbour").over(whole), F.max("neighbour").over(whole)
    has_smaller = smallest < F.col("node")
    # Sorting by neighbour, needed anyway for the window, makes duplicates adjacent: keep the first of each.
    is_first = F.lag("neighbour").over(sorted_around).isNull() | (
        F.lag("neighbour").over(sorted_around) != F.col("neighbour")
    )
    flagged = _directed(edges).select(
        "node",
        "neighbour",
        (has_smaller & (largest != smallest)).cast("int").alias("unsettled"),
        (has_smaller & (largest == smallest)).alias("is_pendant"),
        is_first.alias("is_first"),
    )
    observed = flagged.observe(observation, F.max("unsettled").alias("unsettled"))
    from_larger_end = (F.col("neighbour") < F.col("node")) & F.col("is_first")
    return observed.where(from_larger_end).select(
        F.col("node").alias("hi"), F.col("neighbour").alias("lo"), "is_pendant"
    )


def _star_rounds(edges: DataFrame) -> DataFrame:
    """(node, component) for every node of (hi, lo) `edges` except the smallest of each component.

    Each step is one large-star and one small-star round (Kiveris et al. 2014), then a settledness check
    that sets pendants aside as pointers; the step is computed and cut from its lineage as ONE Spark job,
    the check observed while it runs. The next step runs only on what is left, which on identity graphs is
    a fraction of a percent after the first. Alternating star rounds converge on any graph in O(log^2 n)
    rounds, and taking out pendants only removes work. At the end, the pointers are resolved from the last
    step's back to the first's: a pointer's target is either set aside later or the smallest of its component.
    """
    steps: list[DataFrame] = []
    for _ in range(MAX_STAR_ROUNDS):
        observation = Observation()
        marked = _materialise(_marked_pendants(_small_star(_large_star(edges)), observation))
        steps.append(marked.where("is_pendant").select(F.col("hi").alias("node"), F.col("lo").alias("target")))
        if not observation.get["unsettled"]:
            return _resolved(steps)
        edges = marked.where(~F.col("is_pendant")).select("hi", "lo")
    raise RuntimeError(f"connected components did not converge in {MAX_STAR_ROUNDS} large-star/small-star rounds")


def _resolved(steps: list[DataFrame]) -> DataFrame:
    """(node, component) from pendant pointers (node, target) set aside step by step, the last step first.

    Each node is set aside once, so there is one row per node. Later steps are small on identity graphs,
    so the join with their labels is typically a broadcast and the large first step is not shuffled.
    """
    labels = steps[-1].select("node", F.col("target").alias("component"))
    for pointers in reversed(steps[:-1]):
        later = labels.select(F.col("node").alias("target"), "component")
        resolved = pointers.join(later, on="target", how="left").select(
            "node", F.coalesce("component", "target").alias("component")
        )
        labels = labels.unionByName(resolved)
    return labels


def connected_components(edges: DataFrame, src: str = "src", dst: str = "dst") -> DataFrame:
    """(node, component) for every node of `edges`; component is the smallest node id of the component."""
    all_nodes = edges.select(F.col(src).alias("node")).union(edges.select(F.col(dst).alias("node"))).distinct()
    labels = _star_rounds(_oriented(edges, src, dst))
    return all_nodes.join(labels, on="node", how="left").select(
        "node", F.coalesce("component", "node").alias("component")
    )


def _blocklist_condition(
    rules: IdentityConfig, type_column: str = "id_type", value_column: str = "id_value"
) -> F.Column:
    """True for identifiers the configuration says identify nobody."""
    id_type, id_value = F.col(type_column), F.col(value_column)
    condition = F.lit(False)
    for listed_type, values in rules.blocked_values.items():
        if values:
            condition = condition | ((id_type == listed_type) & id_value.isin(list(values)))
    for listed_type, patterns in rules.blocked_patterns.items():
        if patterns:
            regex = "^(?:" + "|".join(f"(?:{pattern})" for pattern in patterns) + ")$"
            condition = condition | ((id_type == listed_type) & id_value.rlike(regex))
    return condition


def _linking_edges(edges: DataFrame, rules: IdentityConfig) -> DataFrame:
    """Distinct (hi, lo) node-key edges between identifiers that are not blocklisted."""
    is_listed_end = _blocklist_condition(rules, "src_type", "src_value") | _blocklist_condition(
        rules, "dst_type", "dst_value"
    )
    keyed = edges.where(~is_listed_end).select(
        node_key("src_type", "src_value").alias("src"), node_key("dst_type", "dst_value").alias("dst")
    )
    return _oriented(keyed, "src", "dst")


def _labelled(components: DataFrame) -> tuple[DataFrame, int, int]:
    """Checkpointed (id_type, id_value, node, component) from the same columns, with the largest component
    size and the most identifiers sharing one node key.

    Both figures are aggregations over the long columns only: windows over the ids would shuffle and sort
    their strings twice.
    """
    checkpointed = _materialise(components)
    largest = _sizes(checkpointed).agg(F.max("component_size")).first()[0]
    clashes = checkpointed.groupBy("node").agg(F.count(F.lit(1)).alias("ids")).agg(F.max("ids")).first()[0]
    return checkpointed, int(largest or 0), int(clashes or 0)


def _sizes(labelled: DataFrame) -> DataFrame:
    """component, component_size (identifiers in it)."""
    return labelled.groupBy("component").agg(F.count(F.lit(1)).alias("component_size"))


def _raise_key_clash(labelled: DataFrame) -> None:
    clashing = labelled.select(*ID_KEY, "node", F.count(F.lit(1)).over(Window.partitionBy("node")).alias("ids"))
    example = clashing.where("ids > 1").orderBy("node").limit(2).collect()
    raise RuntimeError(
        f"two identifiers hash to the same 64-bit node key: {[tuple(row) for row in example]}. "
        "This is astronomically unlikely; check the node input for duplicated (id_type, id_value) rows."
    )


def _degrees(edges: DataFrame) -> DataFrame:
    """node, degree over (hi, lo) edges."""
    ends = edges.select(F.col("hi").alias("node")).union(edges.select(F.col("lo").alias("node")))
    return ends.groupBy("node").agg(F.count("*").alias("degree"))


def _cut_hubs(
    labelled: DataFrame, largest: int, edges: DataFrame, rules: IdentityConfig
) -> tuple[DataFrame, DataFrame]:
    """Cut hub ids out of oversize components until none is left or the rounds run out.

    labelled: checkpointed id_type, id_value, node, component; largest: its largest component size.
    Returns (labelled, blocked hub/oversize rows). A hub is an id with at least
    `hub_min_degree` links inside an oversize component, and always the best-linked id of each oversize
    component, so every round makes progress. Components still oversize after the last round are not merged
    at all: each id stays a person of its own. Only called when an oversize component exists.
    """
    is_oversize = F.col("component_size") > rules.max_component_size
    blocked: list[DataFrame] = []
    labelled = labelled.join(_sizes(labelled), on="component", how="inner")
    for _ in range(rules.max_hub_rounds):
        if largest <= rules.max_component_size:
            break
        members = labelled.where(is_oversize)
        degrees = members.join(_degrees(edges), on="node", how="inner")
        by_degree = Window.partitionBy("component").orderBy(F.desc("degree"), "node")
        ranked = degrees.withColumn("rank_in_component", F.row_number().over(by_degree))
        is_hub = (F.col("degree") >= rules.hub_min_degree) | (F.col("rank_in_component") == 1)
        hubs = _materialise(
            ranked.where(is_hub).select(
                *ID_KEY, "node", F.lit(BLOCK_REASON_HUB).alias("reason"), "degree", "component_size"
            )
        )
        blocked.append(hubs.drop("node"))
        hub_nodes = hubs.select("node")
        edges = edges.join(hub_nodes.withColumnRenamed("node", "hi"), on="hi", how="left_anti").join(
            hub_nodes.withColumnRenamed("node", "lo"), on="lo", how="left_anti"
        )
        affected_edges = edges.join(members.select(F.col("node").alias("hi")), on="hi", how="left_semi")
        relabelled = connected_components(affected_edges, "hi", "lo")
        untouched = labelled.where(~is_oversize).select(*ID_KEY, "node", "component")
        new_labels = members.select(*ID_KEY, "node").join(relabelled, on="node", how="left")
        labels = untouched.unionByName(
            new_labels.select(*ID_KEY, "node", F.coalesce("component", "node").alias("component"))
        )
        labelled, largest, _ = _labelled(labels)
        labelled = labelled.join(_sizes(labelled), on="component", how="inner")

    if largest > rules.max_component_size:
        stuck = labelled.where(is_oversize)
        blocked.append(
            stuck.select(
                *ID_KEY,
                F.lit(BLOCK_REASON_OVERSIZE).alias("reason"),
                F.lit(None).cast("long").alias("degree"),
                "component_size",
            )
        )
        labelled = labelled.select(
            *ID_KEY, "node", F.when(is_oversize, F.col("node")).otherwise(F.col("component")).alias("component")
        )
    return labelled.select(*ID_KEY, "node", "component"), _union_all(blocked)


def _union_all(frames: list[DataFrame]) -> DataFrame | None:
    if not frames:
        return None
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union


def resolve_components(nodes: DataFrame, edges: DataFrame, rules: IdentityConfig) -> Resolution:
    """Group identifiers into people.

    nodes: id_type, id_value (one row per identifier seen; other columns ignored).
    edges: src_type, src_value, dst_type, dst_value (two ids on the same record).
    Blocklisted ids are dropped (they are in no component); every other id gets a component, possibly alone.
    The components come back computed (checkpointed): connected components cost one Spark job per star
    round, labelling one, component sizes and the key clash check one each;
    hub cutting runs only when some component is oversize.
    """
    is_blocked = _blocklist_condition(rules)
    ids = nodes.select(*ID_KEY).distinct()
    listed = ids.where(is_blocked)
    kept_ids = ids.where(~is_blocked).select(*ID_KEY, node_key("id_type", "id_value").alias("node"))

    linking = _linking_edges(edges, rules)
    # A node without a label is the smallest of its component (or alone).
    labels = kept_ids.join(_star_rounds(linking), on="node", how="left").select(
        *ID_KEY, "node", F.coalesce("component", "node").alias("component")
    )
    labelled, largest, clashes = _labelled(labels)
    if clashes > 1:
        _raise_key_clash(labelled)

    blocked = listed.select(
        *ID_KEY,
        F.lit(BLOCK_REASON_BLOCKLIST).alias("reason"),
        F.lit(None).cast("long").alias("degree"),
        F.lit(None).cast("long").alias("component_size"),
    )
    if largest > rules.max_component_size:
        # Hub degrees count distinct links; the star rounds did not need them deduplicated.
        labelled, cut = _cut_hubs(labelled, largest, linking.distinct(), rules)
        blocked = blocked.unionByName(cut) if cut is not None else blocked
    return Resolution(components=labelled.select(*ID_KEY, "component"), blocked=blocked)


def assign_one_ids(components: DataFrame, previous: DataFrame, max_issued_one_id: int) -> Assignment:
    """Give every component a stable one_id.

    components: id_type, id_value, component. previous: id_type, id_value, one_id (the previous run date's map).
    - A component holding ids of one known person keeps that person's one_id.
    - Ids of one known person now in several components (a split): the part holding most of them (then the
      smallest anchor id) inherits the one_id; the other parts are recorded as splits.
    - A component inheriting several known people (a merge): the smallest one_id survives, the others are
      recorded as merged into it.
    - Components inheriting nobody get max_issued_one_id + 1, + 2, ... in the order of their smallest
      (id_type, id_value), so a re-run with the same input numbers people identically.
    """
    # Computed once: the heirs, the newcomers' numbering and the decisions all read it.
    anchors = _materialise(components.groupBy("component").agg(F.min(F.struct(*ID_KEY)).alias("anchor")))
    overlap = (
        components.join(previous.select(*ID_KEY, "one_id"), on=ID_KEY, how="inner")
        .groupBy("component", "one_id")
        .agg(F.count("*").alias("shared_ids"))
        .join(anchors, on="component", how="inner")
    )
    by_share = Window.partitionBy("one_id").orderBy(F.desc("shared_ids"), "anchor")
    overlap = overlap.withColumn("is_heir", F.row_number().over(by_share) == 1)
    inherited = overlap.where("is_heir").groupBy("component").agg(F.min("one_id").alias("assigned_one_id"))

    newcomers = anchors.join(inherited, on="component", how="left_anti")
    numbered = _numbered(newcomers, max_issued_one_id + 1)
    # One row per component: its one_id and what it shares with each previous person. Computed as one job;
    # identities, merges and splits are then read from it.
    previous_people = overlap.groupBy("component").agg(
        F.collect_list(F.struct("one_id", "shared_ids", "is_heir")).alias("previous_people")
    )
    decisions = _materialise(inherited.unionByName(numbered).join(previous_people, on="component", how="left"))

    component_ids = decisions.select("component", F.col("assigned_one_id").alias("one_id"))
    shares = decisions.select("assigned_one_id", F.explode("previous_people").alias("share")).select(
        "assigned_one_id", "share.*"
    )
    merges = shares.where(F.col("is_heir") & (F.col("one_id") != F.col("assigned_one_id"))).select(
        F.col("assigned_one_id").alias("surviving_one_id"),
        F.col("one_id").alias("merged_one_id"),
        F.col("shared_ids").alias("merged_ids"),
    )
    splits = shares.where(~F.col("is_heir")).select(
        F.col("one_id").alias("original_one_id"),
        F.col("assigned_one_id").alias("new_one_id"),
        F.col("shared_ids").alias("moved_ids"),
    )
    identities = components.join(component_ids, on="component", how="inner").select(*ID_KEY, "one_id")
    return Assignment(identities=identities, merges=merges, splits=splits)


def _numbered(newcomers: DataFrame, first: int) -> DataFrame:
    """component, assigned_one_id = first, first + 1, ... in the order of `anchor`.

    A window ordered over all rows would number them in one task; instead the rows are sorted in parallel
    (range partitions come out in order), counted per partition, and numbered from each partition's offset.
    """
    ordered = _materialise(
        newcomers.orderBy("anchor").select(
            "component",
            F.spark_partition_id().alias("part"),
            F.monotonically_increasing_id().alias("position"),  # partition index << 33, then row in partition
        )
    )
    counts = sorted(tuple(row) for row in ordered.groupBy("part").count().collect())
    if not counts:
        return ordered.select("component", F.lit(None).cast("long").alias("assigned_one_id"))
    offsets, offset = [], first
    for part, rows in counts:
        offsets += [F.lit(part), F.lit(offset).cast("long")]
        offset += rows
    row_in_part = F.col("position") - F.shiftleft(F.col("part").cast("long"), POSITION_PARTITION_SHIFT)
    return ordered.select("component", (F.create_map(*offsets)[F.col("part")] + row_in_part).alias("assigned_one_id"))


def identity_map(assignment: Assignment, nodes: DataFrame) -> DataFrame:
    """The map contract: one_id, id_type, id_value, first_seen_date, last_seen_date."""
    seen = nodes.select(*ID_KEY, "first_seen_date", "last_seen_date")
    return assignment.identities.join(seen, on=ID_KEY, how="inner").select(
        "one_id", *ID_KEY, "first_seen_date", "last_seen_date"
    )


@dataclass(frozen=True)
class JobPaths:
    nodes: str
    edges: str
    previous: str | None
    output: str  # directory: identity_map/, merges/, splits/, blocked/ are written under it


@contextmanager
def sized_for(spark: SparkSession, edges: int) -> Iterator[None]:
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
    saved = {key: spark.conf.get(key) for key in wanted}
    for key, value in wanted.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            spark.conf.set(key, value)


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
            "identity_map": identity_map(assignment, nodes),
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
