"""A synthetic identity graph of a chosen size, for the second of two nights, with every rule given work.

People carry four ids each (a star of three links around their app user id), and every 100th link joins a
person to the next one instead of to a device (two people, eight ids, one component).
On top of that, at any scale, the same junk a real night brings:
- a shared test phone on `HUB_ACCOUNTS` accounts (a hub: cut, its accounts stay apart);
- a placeholder device id on `BLOCKLISTED_ACCOUNTS` accounts (blocklisted: links nobody);
- a path of `PATH_DEVICES` devices (no id in it has a hub's degree: what stays oversize after the hub rounds
  is left unmerged).
The previous night's map gives every person their own one_id, except that every 10th person shares theirs
with the person `SPLIT_DISTANCE` further on (two components claim one one_id: a split), and the people joined
by a link are one component now (two one_ids meet: a merge). `identity_night` writes the job's inputs as
Parquet, the way the identity stage writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from nightshift.identity.config import IdentityConfig

IDS_PER_PERSON = 4
CHAIN_EVERY = 100  # one link in this many joins two neighbouring people
HUB_ACCOUNTS = 1_500
BLOCKLISTED_ACCOUNTS = 100
BLOCKLISTED_DEVICE = "00000000"
PATH_DEVICES = 5_000
SPLIT_EVERY = 10
SPLIT_DISTANCE = 55  # not a multiple of SPLIT_EVERY: the partner keeps its own one_id, so two people claim it
FIRST_SEEN, LAST_SEEN = "2026-11-19", "2026-11-20"
# The rules the night runs with: components of up to 1,000 ids, two hub rounds (a path of 5,000 falls into at
# most four pieces: one stays oversize), the placeholder device blocklisted.
RULES = IdentityConfig(blocked_values={"device_id": (BLOCKLISTED_DEVICE,)}, max_component_size=1_000, max_hub_rounds=2)


@dataclass(frozen=True)
class NightInputs:
    nodes: str  # Parquet directories, as spark_jobs.identity.JobPaths takes them
    edges: str
    previous: str
    links: int  # rows in edges
    max_issued_one_id: int


def person_links(spark, links: int):
    """`links` rows of (src_type, src_value, dst_type, dst_value): the people and their chains."""
    from pyspark.sql import functions as F

    slots = spark.range(links).select(
        (F.col("id") / (IDS_PER_PERSON - 1)).cast("long").alias("person"),
        (F.col("id") % (IDS_PER_PERSON - 1) + 1).alias("slot"),
        (F.col("id") % CHAIN_EVERY == 0).alias("is_chain"),
    )
    other_person = F.when(F.col("is_chain"), F.col("person") + 1).otherwise(F.col("person"))
    other_slot = F.when(F.col("is_chain"), F.lit(0)).otherwise(F.col("slot"))
    return slots.select(
        F.lit("app_user_id").alias("src_type"),
        F.concat(F.lit("U"), F.col("person").cast("string")).alias("src_value"),
        F.when(other_slot == 0, F.lit("app_user_id")).otherwise(F.lit("device_id")).alias("dst_type"),
        F.concat(
            F.when(other_slot == 0, F.lit("U")).otherwise(F.lit("D")),
            other_person.cast("string"),
            F.when(other_slot == 0, F.lit("")).otherwise(F.concat(F.lit("-"), other_slot.cast("string"))),
        ).alias("dst_value"),
    )


def junk_links(spark):
    """The hub phone, the blocklisted device and the long device path (module docstring)."""
    from pyspark.sql import functions as F

    hub = spark.range(HUB_ACCOUNTS).select(
        F.lit("app_user_id").alias("src_type"),
        F.concat(F.lit("U"), (F.col("id") * 7).cast("string")).alias("src_value"),
        F.lit("phone").alias("dst_type"),
        F.lit("+8613800000000").alias("dst_value"),
    )
    blocklisted = spark.range(BLOCKLISTED_ACCOUNTS).select(
        F.lit("app_user_id").alias("src_type"),
        F.concat(F.lit("U"), (F.col("id") * 11 + 3).cast("string")).alias("src_value"),
        F.lit("device_id").alias("dst_type"),
        F.lit(BLOCKLISTED_DEVICE).alias("dst_value"),
    )
    path = spark.range(PATH_DEVICES - 1).select(
        F.lit("device_id").alias("src_type"),
        F.concat(F.lit("P"), F.col("id").cast("string")).alias("src_value"),
        F.lit("device_id").alias("dst_type"),
        F.concat(F.lit("P"), (F.col("id") + 1).cast("string")).alias("dst_value"),
    )
    return hub.unionByName(blocklisted).unionByName(path)


def previous_map(nodes):
    """The previous night's map of the people's ids (module docstring); the junk ids were never mapped."""
    from pyspark.sql import functions as F

    person = F.regexp_extract("id_value", r"^[UD](\d+)", 1)
    people = nodes.where(F.col("id_type").isin("app_user_id", "device_id") & (person != "")).select(
        "id_type", "id_value", person.cast("long").alias("person")
    )
    one_id = F.when(F.col("person") % SPLIT_EVERY == 0, F.col("person") + SPLIT_DISTANCE).otherwise(F.col("person"))
    return people.select("id_type", "id_value", (one_id + 1).alias("one_id"))


def identity_night(spark, links: int, directory: str) -> NightInputs:
    """Write nodes, edges and the previous map for a night of `links` person links (plus the junk) under
    `directory`; returns their paths."""
    from pyspark.sql import functions as F

    edges = person_links(spark, links).unionByName(junk_links(spark))
    edges.write.mode("overwrite").parquet(f"{directory}/edges")
    edges = spark.read.parquet(f"{directory}/edges")
    ends = edges.select(F.col("src_type").alias("id_type"), F.col("src_value").alias("id_value")).union(
        edges.select("dst_type", "dst_value")
    )
    seen = ends.distinct().select(
        "id_type", "id_value", F.lit(FIRST_SEEN).cast("date").alias("first_seen_date"),
        F.lit(LAST_SEEN).cast("date").alias("last_seen_date"),
    )  # fmt: skip
    seen.write.mode("overwrite").parquet(f"{directory}/nodes")
    previous = previous_map(spark.read.parquet(f"{directory}/nodes"))
    previous.write.mode("overwrite").parquet(f"{directory}/previous")
    max_issued = spark.read.parquet(f"{directory}/previous").agg(F.max("one_id")).first()[0] or 0
    return NightInputs(
        f"{directory}/nodes", f"{directory}/edges", f"{directory}/previous", edges.count(), int(max_issued)
    )
