"""Spark job: OneID identity resolution (connected components over identifier links, stable integer ids).

Pure parts, each `DataFrame -> DataFrame`:
- `connected_components(edges)`: (src, dst) long pairs -> (node, component = smallest node of its component).
  Alternating large-star / small-star rounds (Kiveris et al. 2014), chained lazily STAR_BATCH rounds per Spark
  job; each job also observes whether its result is already a set of stars on their minimum, so convergence
  costs no separate action. Converges for any input (paths, stars, cycles) in O(log^2 n) rounds; identity
  graphs in one batch, a sorted 1000-node path in five.
- `resolve_components(nodes, edges, ...)`: identifiers -> components, with junk protection (blocklisted
  placeholder ids are dropped, hubs inside oversize components are cut, what stays oversize is not merged).
  Component sizes are observed in the same job that labels the ids; hub cutting runs only when needed.
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

from pyspark.sql import DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F

ID_KEY = ["id_type", "id_value"]
# Lake inputs as the identity stage writes them; stating the schemas spares Spark a job per read to infer them.
NODES_SCHEMA = "id_type string, id_value string, first_seen_date date, last_seen_date date"
EDGES_SCHEMA = "src_type string, src_value string, dst_type string, dst_value string"
PREVIOUS_SCHEMA = "id_type string, id_value string, one_id long"
MAX_STAR_ROUNDS = 256  # alternating star rounds need O(log^2 n): far below this for any real graph
STAR_BATCH = 2  # star rounds per Spark job: most identity graphs are stars after one or two
# Inputs below this many edges run with one shuffle partition and without whole-stage code generation:
# there, Spark's fixed cost per stage (task scheduling, compiling generated code) dominates the run time.
SMALL_INPUT_EDGES = 1_000_000

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


def _oriented(edges: DataFrame, src: str, dst: str) -> DataFrame:
    """Distinct undirected edges as (hi, lo) with hi > lo; self loops dropped."""
    return (
        edges.select(F.greatest(src, dst).alias("hi"), F.least(src, dst).alias("lo"))
        .where(F.col("hi") != F.col("lo"))
        .distinct()
    )


def _directed(edges: DataFrame) -> DataFrame:
    """Both directions of every (hi, lo) edge as (node, neighbour)."""
    both_ways = F.array(
        F.struct(F.col("hi").alias("node"), F.col("lo").alias("neighbour")),
        F.struct(F.col("lo").alias("node"), F.col("hi").alias("neighbour")),
    )
    return edges.select(F.explode(both_ways).alias("pair")).select("pair.node", "pair.neighbour")


def _is_unsettled(around: Window) -> F.Column:
    """1 for a node that has a smaller neighbour and more than one neighbour, else 0.

    A graph with no such node is a set of stars, each centred on the smallest node of its component: every
    node is either a centre (all neighbours larger) or a leaf with one, smaller, neighbour - the centre.
    """
    has_smaller = F.min("neighbour").over(around) < F.col("node")
    return (has_smaller & (F.count(F.lit(1)).over(around) > 1)).cast("int")


def _large_star(edges: DataFrame) -> DataFrame:
    """Large-star: every node links its strictly larger neighbours to the smallest node of its neighbourhood."""
    around = Window.partitionBy("node")
    smallest = F.least("node", F.min("neighbour").over(around))
    marked = _directed(edges).select("node", "neighbour", smallest.alias("smallest"))
    # Duplicates are left in: the small-star that always follows is indifferent to them and removes them.
    return marked.where(F.col("neighbour") > F.col("node")).select(
        F.col("neighbour").alias("hi"), F.col("smallest").alias("lo")
    )


def _observe_settled(edges: DataFrame, observation: Observation) -> DataFrame:
    """`edges` again, rebuilt from their flagged directed form so that computing them also reports
    `unsettled` through `observation` (0, or null for no edges, once every component is a star)."""
    flagged = _directed(edges).select("node", "neighbour", _is_unsettled(Window.partitionBy("node")).alias("flag"))
    observed = flagged.observe(observation, F.max("flag").alias("unsettled"))
    return observed.where(F.col("neighbour") < F.col("node")).select(
        F.col("node").alias("hi"), F.col("neighbour").alias("lo")
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Small-star: every node and its smaller neighbours are linked to the smallest of them."""
    smallest = F.min("lo").over(Window.partitionBy("hi"))
    hooked = edges.select(F.array("hi", "lo").alias("members"), smallest.alias("smallest"))
    return (
        hooked.select(F.explode("members").alias("hi"), F.col("smallest").alias("lo"))
        .where(F.col("hi") != F.col("lo"))
        .distinct()
    )


def _star_rounds(edges: DataFrame) -> DataFrame:
    """Alternate large-star and small-star (Kiveris et al. 2014) until every component is a star on its minimum.

    Rounds are chained lazily in batches of STAR_BATCH; each batch, with a check of its result, is computed
    and cut from its lineage as ONE Spark job: the check is observed while the job runs, so no separate
    action tests convergence. Alternating star rounds converge on any graph in O(log^2 n) rounds; identity
    graphs (small, shallow components) in one or two, a sorted path of 1000 nodes in about ten.
    """
    for _ in range(0, MAX_STAR_ROUNDS, STAR_BATCH):
        for _ in range(STAR_BATCH):
            edges = _small_star(_large_star(edges))
        observation = Observation()
        edges = _materialise(_observe_settled(edges, observation))
        if not observation.get["unsettled"]:
            return edges
    raise RuntimeError(f"connected components did not converge in {MAX_STAR_ROUNDS} large-star/small-star rounds")


def connected_components(edges: DataFrame, src: str = "src", dst: str = "dst") -> DataFrame:
    """(node, component) for every node of `edges`; component is the smallest node id of the component."""
    all_nodes = edges.select(F.col(src).alias("node")).union(edges.select(F.col(dst).alias("node"))).distinct()
    stars = _star_rounds(_oriented(edges, src, dst))
    labels = stars.select(F.col("hi").alias("node"), F.col("lo").alias("component"))
    return all_nodes.join(labels, on="node", how="left").select(
        "node", F.coalesce("component", "node").alias("component")
    )


def _blocklist_condition(rules: JunkRules, type_column: str = "id_type", value_column: str = "id_value") -> F.Column:
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


def _linking_edges(edges: DataFrame, rules: JunkRules) -> DataFrame:
    """Distinct (hi, lo) node-key edges between identifiers that are not blocklisted."""
    is_listed_end = _blocklist_condition(rules, "src_type", "src_value") | _blocklist_condition(
        rules, "dst_type", "dst_value"
    )
    keyed = edges.where(~is_listed_end).select(
        node_key("src_type", "src_value").alias("src"), node_key("dst_type", "dst_value").alias("dst")
    )
    return _oriented(keyed, "src", "dst")


def _labelled(components: DataFrame) -> tuple[DataFrame, int, int]:
    """Checkpointed (id_type, id_value, node, component, component_size) from (id_type, id_value, node,
    component) and, observed while computing it in the same Spark job, the largest component size and the
    most identifiers sharing one node key.
    """
    observation = Observation()
    sized = components.select(
        "*",
        F.count(F.lit(1)).over(Window.partitionBy("component")).alias("component_size"),
        F.count(F.lit(1)).over(Window.partitionBy("node")).alias("ids_per_node"),
    ).observe(observation, F.max("component_size").alias("largest"), F.max("ids_per_node").alias("clashes"))
    checkpointed = _materialise(sized)
    figures = observation.get
    return checkpointed.drop("ids_per_node"), int(figures["largest"] or 0), int(figures["clashes"] or 0)


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


def _cut_hubs(labelled: DataFrame, largest: int, edges: DataFrame, rules: JunkRules) -> tuple[DataFrame, DataFrame]:
    """Cut hub ids out of oversize components until none is left or the rounds run out.

    labelled: checkpointed id_type, id_value, node, component, component_size; largest: its largest size.
    Returns (labelled without component_size, blocked hub/oversize rows). A hub is an id with at least
    `hub_min_degree` links inside an oversize component, and always the best-linked id of each oversize
    component, so every round makes progress. Components still oversize after the last round are not merged
    at all: each id stays a person of its own. Only called when an oversize component exists.
    """
    is_oversize = F.col("component_size") > rules.max_component_size
    blocked: list[DataFrame] = []
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


def resolve_components(nodes: DataFrame, edges: DataFrame, rules: JunkRules) -> Resolution:
    """Group identifiers into people.

    nodes: id_type, id_value (one row per identifier seen; other columns ignored).
    edges: src_type, src_value, dst_type, dst_value (two ids on the same record).
    Blocklisted ids are dropped (they are in no component); every other id gets a component, possibly alone.
    The components come back computed (checkpointed): connected components, component sizes and the key
    clash check cost one Spark job per STAR_BATCH rounds plus one; hub cutting runs only when some
    component is oversize.
    """
    is_blocked = _blocklist_condition(rules)
    ids = nodes.select(*ID_KEY).distinct()
    listed = ids.where(is_blocked)
    kept_ids = ids.where(~is_blocked).select(*ID_KEY, node_key("id_type", "id_value").alias("node"))

    linking = _linking_edges(edges, rules)
    stars = _star_rounds(linking)
    # A node that is no star's leaf is the smallest of its component (or alone).
    leaves = stars.select(F.col("hi").alias("node"), F.col("lo").alias("component"))
    labels = kept_ids.join(leaves, on="node", how="left").select(
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
        labelled, cut = _cut_hubs(labelled, largest, linking, rules)
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
    anchors = components.groupBy("component").agg(F.min(F.struct(*ID_KEY)).alias("anchor"))
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
    numbering = F.row_number().over(Window.orderBy("anchor"))
    numbered = newcomers.select(
        "component", (F.lit(max_issued_one_id).cast("long") + numbering).alias("assigned_one_id")
    )
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
    rules: JunkRules,
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
