"""Identifiers -> components, with junk protection (`resolve_components`).

Blocklisted placeholder ids are dropped, hubs inside oversize components are cut, and what stays oversize is
not merged. Component sizes and the key clash check are aggregations over long keys; hub cutting runs only
when needed. The rules come from `IdentityConfig` (config/identity.yml).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from nightshift.identity.config import IdentityConfig
from spark_jobs.identity.components import ID_KEY, connected_components, materialise, node_key, oriented, star_rounds

BLOCK_REASON_BLOCKLIST = "blocklist"
BLOCK_REASON_HUB = "hub"
BLOCK_REASON_OVERSIZE = "oversize_component"


@dataclass(frozen=True)
class Resolution:
    components: DataFrame  # node, component (longs), id_type, id_value and the nodes' other columns
    blocked: DataFrame  # id_type, id_value, reason, degree, component_size


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
    return oriented(keyed, "src", "dst")


def _checked_sizes(labelled: DataFrame) -> tuple[DataFrame, int]:
    """Component sizes of checkpointed (node, component, ...) rows, and the largest; fails on a node key clash.

    Both are aggregations over the long columns only: grouping the ids' strings would shuffle them.
    """
    clashes = labelled.groupBy("node").agg(F.count(F.lit(1)).alias("ids")).agg(F.max("ids")).first()[0]
    if (clashes or 0) > 1:
        _raise_key_clash(labelled)
    sizes = materialise(_sizes(labelled))
    largest = sizes.agg(F.max("component_size")).first()[0]
    return sizes, int(largest or 0)


def _sizes(labelled: DataFrame) -> DataFrame:
    """component, component_size (identifiers in it)."""
    return labelled.groupBy("component").agg(F.count(F.lit(1)).alias("component_size"))


def _raise_key_clash(labelled: DataFrame) -> None:
    clashing = labelled.select(*ID_KEY, "node", F.count(F.lit(1)).over(Window.partitionBy("node")).alias("ids"))
    example = clashing.where("ids > 1").orderBy("node").limit(2).collect()
    raise RuntimeError(
        f"two identifier rows have the same 64-bit node key: {[tuple(row) for row in example]}. If they are the "
        "same (id_type, id_value), the node input holds it twice: give each identifier one row. Two different "
        "identifiers hashing alike is astronomically unlikely."
    )


def _degrees(edges: DataFrame) -> DataFrame:
    """node, degree over (hi, lo) edges."""
    ends = edges.select(F.col("hi").alias("node")).union(edges.select(F.col("lo").alias("node")))
    return ends.groupBy("node").agg(F.count("*").alias("degree"))


def _cut_hubs(
    labelled: DataFrame, sizes: DataFrame, edges: DataFrame, rules: IdentityConfig
) -> tuple[DataFrame, DataFrame]:
    """Cut hub ids out of oversize components until none is left or the rounds run out.

    labelled: checkpointed node, component, id_type, id_value, ...; sizes: its component sizes; edges: distinct
    (hi, lo) links. Returns (labelled with new components, blocked hub/oversize rows). A hub is an id with at
    least `hub_min_degree` links inside an oversize component, and always the best-linked id of each oversize
    component, so every round makes progress; a cut hub is a person of its own. Components still oversize
    after the last round are not merged at all: each id stays a person of its own.

    The rounds work on the oversize components' ids and links only (node keys, set aside once): a hub glues
    a few thousand ids, and going over every id of the night per round would cost minutes at 10M. Their new
    labels are merged into `labelled` once at the end.
    """
    is_oversize = F.col("component_size") > rules.max_component_size
    oversize = sizes.where(is_oversize).select("component")
    labels = materialise(
        labelled.join(F.broadcast(oversize), on="component", how="left_semi").select("node", "component")
    )
    # An edge's ends share a component: the oversize components' links are those with an end among their ids.
    inside = materialise(edges.join(labels.select(F.col("node").alias("hi")), on="hi", how="left_semi"))
    cut: list[DataFrame] = []
    stuck = None
    for round_number in range(rules.max_hub_rounds + 1):
        sized = labels.join(_sizes(labels), on="component", how="inner")
        members = materialise(sized.where(is_oversize))
        if members.isEmpty():
            break
        if round_number == rules.max_hub_rounds:
            stuck = members  # still oversize after the last round: left unmerged, below
            break
        degrees = members.join(_degrees(inside), on="node", how="inner")
        by_degree = Window.partitionBy("component").orderBy(F.desc("degree"), "node")
        ranked = degrees.withColumn("rank_in_component", F.row_number().over(by_degree))
        is_hub = (F.col("degree") >= rules.hub_min_degree) | (F.col("rank_in_component") == 1)
        hubs = materialise(ranked.where(is_hub).select("node", "degree", "component_size"))
        cut.append(hubs)
        hub_nodes = hubs.select("node")
        inside = materialise(
            inside.join(hub_nodes.withColumnRenamed("node", "hi"), on="hi", how="left_anti").join(
                hub_nodes.withColumnRenamed("node", "lo"), on="lo", how="left_anti"
            )
        )
        affected = inside.join(members.select(F.col("node").alias("hi")), on="hi", how="left_semi")
        relabelled = members.select("node").join(connected_components(affected, "hi", "lo"), on="node", how="left")
        labels = materialise(
            sized.where(~is_oversize)
            .select("node", "component")
            .unionByName(relabelled.select("node", F.coalesce("component", "node").alias("component")))
        )

    ids = labelled.select("node", *ID_KEY)
    blocked = [
        hubs.join(ids, on="node", how="inner").select(
            *ID_KEY, F.lit(BLOCK_REASON_HUB).alias("reason"), "degree", "component_size"
        )
        for hubs in cut
    ]
    if stuck is not None:
        blocked.append(
            stuck.join(ids, on="node", how="inner").select(
                *ID_KEY,
                F.lit(BLOCK_REASON_OVERSIZE).alias("reason"),
                F.lit(None).cast("long").alias("degree"),
                "component_size",
            )
        )
        left_alone = stuck.select("node", F.col("node").alias("component"))
        labels = labels.join(stuck.select("node"), on="node", how="left_anti").unionByName(left_alone)
    new_labels = labels.select("node", F.col("component").alias("new_component"))
    relabelled_all = labelled.join(new_labels, on="node", how="left").select(
        *[F.coalesce("new_component", "component").alias(c) if c == "component" else c for c in labelled.columns]
    )
    return materialise(relabelled_all), _union_all(blocked)


def _union_all(frames: list[DataFrame]) -> DataFrame | None:
    if not frames:
        return None
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    return union


def resolve_components(nodes: DataFrame, edges: DataFrame, rules: IdentityConfig) -> Resolution:
    """Group identifiers into people.

    nodes: id_type, id_value, and any other columns, which are carried through (one row per identifier seen).
    edges: src_type, src_value, dst_type, dst_value (two ids on the same record).
    Blocklisted ids are dropped (they are in no component); every other id gets a component, possibly alone.
    The components come back computed (checkpointed) as node, component and the node columns: the strings
    travel once, to meet their component; everything else (connected components, sizes, the key clash check,
    hub cutting) runs on 64-bit node keys. Hub cutting runs only when some component is oversize.
    """
    is_blocked = _blocklist_condition(rules)
    listed = nodes.where(is_blocked)
    kept = nodes.where(~is_blocked).select(node_key("id_type", "id_value").alias("node"), *nodes.columns)

    linking = _linking_edges(edges, rules)
    # A node without a label is the smallest of its component (or alone).
    labels = kept.join(star_rounds(linking), on="node", how="left").select(
        "node", F.coalesce("component", "node").alias("component"), *nodes.columns
    )
    labelled = materialise(labels)
    sizes, largest = _checked_sizes(labelled)

    blocked = listed.select(
        *ID_KEY,
        F.lit(BLOCK_REASON_BLOCKLIST).alias("reason"),
        F.lit(None).cast("long").alias("degree"),
        F.lit(None).cast("long").alias("component_size"),
    )
    if largest > rules.max_component_size:
        # Hub degrees count distinct links; the star rounds did not need them deduplicated.
        labelled, cut = _cut_hubs(labelled, sizes, linking.distinct(), rules)
        blocked = blocked.unionByName(cut) if cut is not None else blocked
    return Resolution(components=labelled, blocked=blocked)
