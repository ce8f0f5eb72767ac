"""Spark job: reconcile what was planned against what the channels actually recorded.

Pure part: `missing_deliveries(planned, recorded)` -> the planned contacts with no matching record, which become
the make-up ("replenishment") batch. The batch id is derived from the run date and segment, so re-running the
same date reproduces the same batch instead of creating a second one.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def missing_deliveries(planned: DataFrame, recorded: DataFrame, run_date: str) -> DataFrame:
    """Planned (segment, one_id) rows that no channel recorded, with a deterministic replenishment batch id."""
    return (
        planned.select("segment", "one_id")
        .join(recorded.select("segment", "one_id"), on=["segment", "one_id"], how="left_anti")
        .withColumn("replenishment_batch_id", F.sha2(F.concat_ws("|", F.lit(run_date), F.col("segment")), 256))
        .select("segment", "one_id", "replenishment_batch_id")
    )


def reconciliation_counts(planned: DataFrame, recorded: DataFrame) -> DataFrame:
    """Per segment: planned, recorded (of the planned) and missing counts; planned = recorded + missing."""
    recorded_planned = planned.join(recorded.select("segment", "one_id"), on=["segment", "one_id"], how="left_semi")
    planned_counts = planned.groupBy("segment").agg(F.count("*").alias("planned"))
    recorded_counts = recorded_planned.groupBy("segment").agg(F.count("*").alias("recorded"))
    return (
        planned_counts.join(recorded_counts, on="segment", how="left")
        .fillna(0, subset=["recorded"])
        .withColumn("missing", F.col("planned") - F.col("recorded"))
        .select("segment", "planned", "recorded", "missing")
    )
