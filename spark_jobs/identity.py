"""Spark job: OneID identity resolution (connected components over identifier links, stable integer ids).

Pure parts, each `DataFrame -> DataFrame`:
- `connected_components(edges)`: (src, dst) long pairs -> (node, component = smallest node of its component).
  Min-label contraction: every node hooks to its smallest neighbour, hook chains are collapsed by pointer
  jumping, and the edge list is rewritten onto the surviving roots. Each round removes at least the larger
  end of every edge, so it terminates for any input (paths, stars, cycles); typical identity graphs (many small
  components) finish in a few rounds, a sorted 1000-node path in two. Every round is checkpointed locally to
  cut the lineage.
- `resolve_components(nodes, edges, ...)`: identifiers -> components, with junk protection (blocklisted
  placeholder ids are dropped, hubs inside oversize components are cut, what stays oversize is not merged).
- `assign_one_ids(components, previous, max_issued_one_id)`: stable `one_id`s against the previous day's map,
  with merges and splits recorded.
Thin `main()` for spark-submit: reads the lake Parquet written by the identity stage, writes its outputs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

ID_KEY = ["id_type", "id_value"]
MAX_CONTRACTION_ROUNDS = 64  # each round at least halves the path-like worst case; 64 is never reached
MAX_POINTER_JUMPS = 64  # pointer jumping doubles the hop length each time: 2^64 covers any chain
COMPOSE_BATCH = 4  # per-round maps composed lazily before the plan is computed and cut
FIRST_JUMP_BATCH = 2  # pointer jumps chained into the first Spark job; later batches double in size
# Inputs below this many edges run with one shuffle partition and without whole-stage code generation:
# there, Spark's fixed cost per stage (task scheduling, compiling generated code) dominates the run time.
SMALL_INPUT_EDGES = 1_000_000
EDGES_PER_SHUFFLE_PARTITION = 2_000_000

BLOCK_REASON_BLOCKLIST = "blocklist"
BLOCK_REASON_HUB = "hub"
BLOCK_REASON_OVERSIZE = "oversize_component"


@dataclass(frozen=True)
class JunkRules:
    """What the resolver refuses to trust (from config/identity.yml)."""

    blocked_values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id_type -> exact values
    blocked_patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id_type -> regexes (full match)
    max_component_size: int = 200
    hub_min_degree: int = 25  # inside an oversize component, ids linked to at least this many others are hubs
    max_hub_rounds: int = 3  # hub cutting rounds before an oversize component is left unmerged


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


def _jump(parents: DataFrame) -> DataFrame:
    """One pointer jump: every node points to its parent's parent; `moved` says whether it changed."""
    grand = parents.select(F.col("node").alias("parent"), F.col("parent").alias("grandparent"))
    return (
        parents.select("node", "parent")
        .join(grand, on="parent", how="left")
        .select(
            "node",
            F.coalesce("grandparent", "parent").alias("parent"),
            F.col("grandparent").isNotNull().alias("moved"),
        )
    )


def _collapse_chains(parents: DataFrame) -> DataFrame:
    """node -> root of its hook tree, by pointer jumping (each jump doubles how far a node points).

    Jumps are chained lazily into batches that are computed as one Spark job each; a batch is final when
    its last jump moved nobody. Batches double in size (2, 4, 8... jumps), so a shallow identity forest
    costs one job and a chain of depth d about log2(log2(d)) jobs.
    """
    batch, done = FIRST_JUMP_BATCH, 0
    while done < MAX_POINTER_JUMPS:
        for _ in range(batch):
            parents = _jump(parents)
        parents = _materialise(parents)
        if parents.where("moved").isEmpty():
            return parents.select("node", "parent")
        done, batch = done + batch, batch * 2
    raise RuntimeError(f"pointer jumping did not converge in {MAX_POINTER_JUMPS} jumps; the hook forest has a cycle")


def _contract(edges: DataFrame, roots: DataFrame) -> DataFrame:
    """Rewrite (hi, lo) edges onto their roots; edges inside one tree disappear."""
    hi_roots = roots.select(F.col("node").alias("hi"), F.col("parent").alias("hi_root"))
    lo_roots = roots.select(F.col("node").alias("lo"), F.col("parent").alias("lo_root"))
    rewritten = (
        edges.join(hi_roots, on="hi", how="left")
        .join(lo_roots, on="lo", how="left")
        .select(F.coalesce("hi_root", "hi").alias("a"), F.coalesce("lo_root", "lo").alias("b"))
    )
    return _oriented(rewritten, "a", "b")


def _oriented(edges: DataFrame, src: str, dst: str) -> DataFrame:
    """Distinct undirected edges as (hi, lo) with hi > lo; self loops dropped."""
    return (
        edges.select(F.greatest(src, dst).alias("hi"), F.least(src, dst).alias("lo"))
        .where(F.col("hi") != F.col("lo"))
        .distinct()
    )


def _compose(rounds: list[DataFrame]) -> DataFrame:
    """node -> final root, composing the per-round root maps backwards (a node's label is its root's label)."""
    resolved = rounds[-1]
    for number, roots in enumerate(reversed(rounds[:-1]), start=1):
        later = resolved.select(F.col("node").alias("parent"), F.col("parent").alias("final"))
        composed = roots.join(later, on="parent", how="left").select(
            "node", F.coalesce("final", "parent").alias("parent")
        )
        resolved = composed.unionByName(resolved)
        if number % COMPOSE_BATCH == 0:
            resolved = _materialise(resolved)
    return resolved


def connected_components(edges: DataFrame, src: str = "src", dst: str = "dst") -> DataFrame:
    """(node, component) for every node of `edges`; component is the smallest node id of the component."""
    all_nodes = edges.select(F.col(src).alias("node")).union(edges.select(F.col(dst).alias("node")))
    current = _materialise(_oriented(edges, src, dst))
    rounds: list[DataFrame] = []
    for _ in range(MAX_CONTRACTION_ROUNDS):
        if current.isEmpty():
            break
        # Each node's smallest neighbour is the smallest `lo` among its edges as `hi`; pure `lo` nodes are
        # local minima (roots) and hook nowhere.
        hooks = current.groupBy(F.col("hi").alias("node")).agg(F.min("lo").alias("parent"))
        roots = _collapse_chains(hooks)
        rounds.append(roots)
        current = _materialise(_contract(current, roots))
    else:
        raise RuntimeError(f"connected components did not converge in {MAX_CONTRACTION_ROUNDS} rounds")

    if not rounds:
        return edges.sparkSession.createDataFrame([], "node long, component long")
    labels = _compose(rounds).select("node", F.col("parent").alias("component"))
    return (
        all_nodes.distinct()
        .join(labels, on="node", how="left")
        .select("node", F.coalesce("component", "node").alias("component"))
    )


def _blocklist_condition(rules: JunkRules) -> F.Column:
    """True for identifiers the configuration says identify nobody."""
    condition = F.lit(False)
    for id_type, values in rules.blocked_values.items():
        if values:
            condition = condition | ((F.col("id_type") == id_type) & F.col("id_value").isin(list(values)))
    for id_type, patterns in rules.blocked_patterns.items():
        if patterns:
            regex = "^(?:" + "|".join(f"(?:{pattern})" for pattern in patterns) + ")$"
            condition = condition | ((F.col("id_type") == id_type) & F.col("id_value").rlike(regex))
    return condition


def _keyed_edges(edges: DataFrame) -> DataFrame:
    return edges.select(node_key("src_type", "src_value").alias("src"), node_key("dst_type", "dst_value").alias("dst"))


def _check_unique_keys(keyed_nodes: DataFrame) -> None:
    clashes = keyed_nodes.groupBy("node").agg(F.count("*").alias("ids")).where("ids > 1")
    if not clashes.isEmpty():
        example = keyed_nodes.join(clashes.limit(1), on="node", how="left_semi").collect()
        raise RuntimeError(
            f"two identifiers hash to the same 64-bit node key: {[tuple(row) for row in example]}. "
            "This is astronomically unlikely; check the node input for duplicated (id_type, id_value) rows."
        )


def _degrees(edges: DataFrame) -> DataFrame:
    """node, degree over (hi, lo) edges."""
    ends = edges.select(F.col("hi").alias("node")).union(edges.select(F.col("lo").alias("node")))
    return ends.groupBy("node").agg(F.count("*").alias("degree"))


def _component_sizes(labels: DataFrame) -> DataFrame:
    return labels.groupBy("component").agg(F.count("*").alias("component_size"))


def _cut_hubs(labels: DataFrame, edges: DataFrame, rules: JunkRules) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Cut hub ids out of oversize components until none is left or the rounds run out.

    Returns (labels for every node, blocked hub/oversize rows keyed by node, edges kept). A hub is an id with
    at least `hub_min_degree` links inside an oversize component, and always the best-linked id of each
    oversize component, so every round makes progress. Components still oversize after the last round are
    not merged at all: each id stays a person of its own.
    """
    spark = labels.sparkSession
    blocked = spark.createDataFrame([], "node long, reason string, degree long, component_size long")
    for _ in range(rules.max_hub_rounds):
        sizes = _component_sizes(labels)
        oversize = sizes.where(F.col("component_size") > rules.max_component_size)
        if oversize.isEmpty():
            return labels, blocked, edges
        members = labels.join(F.broadcast(oversize), on="component", how="inner")
        degrees = members.join(_degrees(edges), on="node", how="inner")
        by_degree = Window.partitionBy("component").orderBy(F.desc("degree"), "node")
        ranked = degrees.withColumn("rank_in_component", F.row_number().over(by_degree))
        is_hub = (F.col("degree") >= rules.hub_min_degree) | (F.col("rank_in_component") == 1)
        hubs = _materialise(
            ranked.where(is_hub).select("node", F.lit(BLOCK_REASON_HUB).alias("reason"), "degree", "component_size")
        )
        blocked = blocked.unionByName(hubs)
        hub_nodes = hubs.select("node")
        edges = _materialise(
            edges.join(hub_nodes.withColumnRenamed("node", "hi"), on="hi", how="left_anti").join(
                hub_nodes.withColumnRenamed("node", "lo"), on="lo", how="left_anti"
            )
        )
        affected = members.select("node")
        affected_edges = edges.join(affected.withColumnRenamed("node", "hi"), on="hi", how="left_semi")
        relabelled = connected_components(affected_edges, "hi", "lo")
        new_labels = affected.join(relabelled, on="node", how="left").select(
            "node", F.coalesce("component", "node").alias("component")
        )
        labels = _materialise(labels.join(affected, on="node", how="left_anti").unionByName(new_labels))

    oversize = _component_sizes(labels).where(F.col("component_size") > rules.max_component_size)
    if oversize.isEmpty():
        return labels, blocked, edges
    stuck = labels.join(F.broadcast(oversize), on="component", how="inner")
    blocked = blocked.unionByName(
        stuck.select(
            "node",
            F.lit(BLOCK_REASON_OVERSIZE).alias("reason"),
            F.lit(None).cast("long").alias("degree"),
            "component_size",
        )
    )
    labels = labels.join(stuck.select("node"), on="node", how="left_anti").unionByName(
        stuck.select("node", F.col("node").alias("component"))
    )
    return _materialise(labels), blocked, edges


def resolve_components(nodes: DataFrame, edges: DataFrame, rules: JunkRules) -> Resolution:
    """Group identifiers into people.

    nodes: id_type, id_value (one row per identifier seen; other columns ignored).
    edges: src_type, src_value, dst_type, dst_value (two ids on the same record).
    Blocklisted ids are dropped (they are in no component); every other id gets a component, possibly alone.
    """
    is_blocked = _blocklist_condition(rules)
    ids = nodes.select(*ID_KEY).distinct()
    listed = ids.where(is_blocked)
    kept_ids = _materialise(ids.where(~is_blocked).select(*ID_KEY, node_key("id_type", "id_value").alias("node")))
    _check_unique_keys(kept_ids)

    listed_keys = listed.select(node_key("id_type", "id_value").alias("node"))
    keyed = _keyed_edges(edges)
    kept_edges = keyed.join(listed_keys.withColumnRenamed("node", "src"), on="src", how="left_anti").join(
        listed_keys.withColumnRenamed("node", "dst"), on="dst", how="left_anti"
    )
    oriented = _materialise(_oriented(kept_edges, "src", "dst"))
    linked = connected_components(oriented, "hi", "lo")
    labels = _materialise(
        kept_ids.select("node")
        .join(linked, on="node", how="left")
        .select("node", F.coalesce("component", "node").alias("component"))
    )
    labels, cut, _ = _cut_hubs(labels, oriented, rules)

    components = kept_ids.join(labels, on="node", how="inner").select(*ID_KEY, "component")
    blocked = listed.select(
        *ID_KEY,
        F.lit(BLOCK_REASON_BLOCKLIST).alias("reason"),
        F.lit(None).cast("long").alias("degree"),
        F.lit(None).cast("long").alias("component_size"),
    ).unionByName(kept_ids.join(cut, on="node", how="inner").select(*ID_KEY, "reason", "degree", "component_size"))
    return Resolution(components=components, blocked=blocked)


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
    anchors = components.groupBy("component").agg(F.min(F.struct(*ID_KEY)).alias("anchor"))
    overlap = (
        components.join(previous.select(*ID_KEY, "one_id"), on=ID_KEY, how="inner")
        .groupBy("component", "one_id")
        .agg(F.count("*").alias("shared_ids"))
        .join(anchors, on="component", how="inner")
    )
    by_share = Window.partitionBy("one_id").orderBy(F.desc("shared_ids"), "anchor")
    overlap = _materialise(overlap.withColumn("is_heir", F.row_number().over(by_share) == 1))
    heirs = overlap.where("is_heir")
    inherited = heirs.groupBy("component").agg(F.min("one_id").alias("one_id"))

    newcomers = anchors.join(inherited, on="component", how="left_anti")
    numbered = newcomers.select(
        "component",
        (F.lit(max_issued_one_id).cast("long") + F.row_number().over(Window.orderBy("anchor"))).alias("one_id"),
    )
    component_ids = _materialise(inherited.unionByName(numbered))

    merges = heirs.join(component_ids.withColumnRenamed("one_id", "surviving_one_id"), on="component", how="inner")
    merges = merges.where(F.col("one_id") != F.col("surviving_one_id")).select(
        "surviving_one_id", F.col("one_id").alias("merged_one_id"), F.col("shared_ids").alias("merged_ids")
    )
    splits = (
        overlap.where(~F.col("is_heir"))
        .join(component_ids.withColumnRenamed("one_id", "new_one_id"), on="component", how="inner")
        .select(F.col("one_id").alias("original_one_id"), "new_one_id", F.col("shared_ids").alias("moved_ids"))
    )
    identities = components.join(component_ids, on="component", how="inner").select(*ID_KEY, "one_id")
    return Assignment(identities=identities, merges=merges, splits=splits)


def identity_map(assignment: Assignment, nodes: DataFrame) -> DataFrame:
    """The map contract: one_id, id_type, id_value, first_seen_date, last_seen_date."""
    seen = nodes.select(*ID_KEY, "first_seen_date", "last_seen_date")
    return assignment.identities.join(seen, on=ID_KEY, how="inner").select(
        "one_id", *ID_KEY, "first_seen_date", "last_seen_date"
    )


def rules_from_json(text: str) -> JunkRules:
    raw = json.loads(text)
    return JunkRules(
        blocked_values={k: tuple(v) for k, v in raw.get("blocked_values", {}).items()},
        blocked_patterns={k: tuple(v) for k, v in raw.get("blocked_patterns", {}).items()},
        max_component_size=int(raw.get("max_component_size", JunkRules.max_component_size)),
        hub_min_degree=int(raw.get("hub_min_degree", JunkRules.hub_min_degree)),
        max_hub_rounds=int(raw.get("max_hub_rounds", JunkRules.max_hub_rounds)),
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

    Small inputs get one shuffle partition and interpreted execution (per-stage overhead dominates there);
    large ones one partition per EDGES_PER_SHUFFLE_PARTITION edges, never more than the session's setting.
    """
    configured = int(spark.conf.get("spark.sql.shuffle.partitions"))
    wanted = {
        "spark.sql.shuffle.partitions": str(max(1, min(configured, -(-edges // EDGES_PER_SHUFFLE_PARTITION)))),
        "spark.sql.codegen.wholeStage": str(edges >= SMALL_INPUT_EDGES).lower(),
        "spark.sql.adaptive.enabled": str(edges >= SMALL_INPUT_EDGES).lower(),
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
    spark: SparkSession, paths: JobPaths, rules: JunkRules, max_issued_one_id: int, run_date: str
) -> dict[str, str]:
    """Read the lake inputs, resolve, write the outputs (each with `run_date` first) as Parquet.

    Returns output name -> Parquet directory (identity_map, merges, splits, blocked).
    """
    nodes = spark.read.parquet(paths.nodes)
    edges = spark.read.parquet(paths.edges)
    previous = (
        spark.read.parquet(paths.previous)
        if paths.previous
        else spark.createDataFrame([], "id_type string, id_value string, one_id long")
    )
    written = {}
    with sized_for(spark, edges.count()):
        resolution = resolve_components(nodes, edges, rules)
        components = _materialise(resolution.components)
        assignment = assign_one_ids(components, previous, max_issued_one_id)
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
    parser.add_argument("--rules", default="{}", help="junk rules as JSON (see JunkRules)")
    parser.add_argument("--max-issued-one-id", type=int, default=0, help="largest one_id ever issued")
    parser.add_argument("--run-date", required=True, help="YYYY-MM-DD, stamped on every output row")
    parser.add_argument("--output", required=True, help="output directory")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("nightshift-identity").getOrCreate()
    paths = JobPaths(args.nodes, args.edges, args.previous, args.output)
    written = run_job(spark, paths, rules_from_json(args.rules), args.max_issued_one_id, args.run_date)
    print(json.dumps(written))


if __name__ == "__main__":
    main()
