"""Stable `one_id`s for components against the previous day's map, with merges and splits recorded.

`assign_one_ids` decides who keeps which one_id and numbers newcomers; `identity_map` is the map contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_jobs.identity.components import ID_KEY, materialise, node_key

# monotonically_increasing_id() puts the partition index in the bits above this one.
POSITION_PARTITION_SHIFT = 33


@dataclass(frozen=True)
class Assignment:
    identities: DataFrame  # id_type, id_value, the components' other columns, one_id
    merges: DataFrame  # surviving_one_id, merged_one_id, merged_ids
    splits: DataFrame  # original_one_id, new_one_id, moved_ids


def assign_one_ids(components: DataFrame, previous: DataFrame, max_issued_one_id: int) -> Assignment:
    """Give every component a stable one_id.

    components: id_type, id_value, component, and any other columns (carried through to `identities`); with
    `node` (its key, as `resolve_components` returns it) the key is not computed again. previous: id_type,
    id_value, one_id (the previous run date's map).
    - A component holding ids of one known person keeps that person's one_id.
    - Ids of one known person now in several components (a split): the part holding most of them (then the
      smallest anchor id) inherits the one_id; the other parts are recorded as splits.
    - A component inheriting several known people (a merge): the smallest one_id survives, the others are
      recorded as merged into it.
    - Components inheriting nobody get max_issued_one_id + 1, + 2, ... in the order of their smallest
      (id_type, id_value), so a re-run with the same input numbers people identically.
    Ids meet the previous map and their one_ids by two 64-bit keys (`node_key` and a second, independent
    hash of the same id): only the anchors and the newcomers' order need the strings.
    """
    if "node" not in components.columns:
        components = components.withColumn("node", node_key("id_type", "id_value"))
    keys = components.select("node", _second_key().alias("check"), "component")
    previous_keys = previous.select(
        node_key("id_type", "id_value").alias("node"), _second_key().alias("check"), "one_id"
    )
    # Computed once: the heirs, the newcomers' numbering and the decisions all read it.
    anchors = materialise(components.groupBy("component").agg(F.min(F.struct(*ID_KEY)).alias("anchor")))
    overlap = (
        keys.join(previous_keys, on=["node", "check"], how="inner")
        .groupBy("component", "one_id")
        .agg(F.count("*").alias("shared_ids"))
        .join(anchors, on="component", how="inner")
    )
    by_share = Window.partitionBy("one_id").orderBy(F.desc("shared_ids"), "anchor")
    # Computed once: the heirs, the newcomers (through the heirs) and each component's previous people read it,
    # in two separate jobs (the newcomers are numbered before the decisions are put together).
    overlap = materialise(overlap.withColumn("is_heir", F.row_number().over(by_share) == 1))
    inherited = overlap.where("is_heir").groupBy("component").agg(F.min("one_id").alias("assigned_one_id"))

    newcomers = anchors.join(inherited, on="component", how="left_anti")
    numbered = _numbered(newcomers, max_issued_one_id + 1)
    # One row per component: its one_id and what it shares with each previous person. Computed as one job;
    # identities, merges and splits are then read from it.
    previous_people = overlap.groupBy("component").agg(
        F.collect_list(F.struct("one_id", "shared_ids", "is_heir")).alias("previous_people")
    )
    decisions = materialise(inherited.unionByName(numbered).join(previous_people, on="component", how="left"))

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
    # The one_id reaches each id by its node key (longs only); the ids, partitioned by node when they met their
    # component, are then not moved again.
    node_one_ids = keys.select("node", "component").join(component_ids, on="component", how="inner")
    carried = [column for column in components.columns if column not in ("node", "component")]
    identities = components.join(node_one_ids.drop("component"), on="node", how="inner").select(*carried, "one_id")
    return Assignment(identities=identities, merges=merges, splits=splits)


def _second_key() -> F.Column:
    """A second 64-bit hash of (id_type, id_value), independent of `node_key`: joining on both makes a wrong
    match between an id of today and one of the previous map (whose keys were never checked for clashes)
    as unlikely as a 128-bit collision."""
    return F.xxhash64(F.col("id_value"), F.col("id_type"), F.lit("check"))


def _numbered(newcomers: DataFrame, first: int) -> DataFrame:
    """component, assigned_one_id = first, first + 1, ... in the order of `anchor`.

    A window ordered over all rows would number them in one task; instead the rows are sorted in parallel
    (range partitions come out in order), counted per partition, and numbered from each partition's offset.
    """
    ordered = materialise(
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


def identity_map(assignment: Assignment) -> DataFrame:
    """The map contract: one_id, id_type, id_value, first_seen_date, last_seen_date (carried from the nodes
    through `resolve_components` and `assign_one_ids`)."""
    return assignment.identities.select("one_id", *ID_KEY, "first_seen_date", "last_seen_date")
