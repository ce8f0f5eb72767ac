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
    components: DataFrame  # id_type, id_value, component (long)
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


def _labelled(components: DataFrame) -> tuple[DataFrame, int, int]:
    """Checkpointed (id_type, id_value, node, component) from the same columns, with the largest component
    size and the most identifiers sharing one node key.

    Both figures are aggregations over the long columns only: windows over the ids would shuffle and sort
    their strings twice.
    """
    checkpointed = materialise(components)
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
        hubs = materialise(
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
    labels = kept_ids.join(star_rounds(linking), on="node", how="left").select(
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
