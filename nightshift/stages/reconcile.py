"""Reconcile stage: what was planned the day before versus what the channels recorded, in Spark.

Planned = `audience.segment_membership` of the previous run date; recorded = delivery receipts for that date
in the lake dataset `delivery_records` (segment, one_id). Output for the run date: per-segment counts in
`audience.reconciliation` and the make-up batch in `audience.replenishment`, both replacing their partition,
so re-running never produces a second batch. With nothing planned yesterday it writes nothing and says so.
"""

from __future__ import annotations

from datetime import timedelta

from nightshift.lake import dataset_exists, dataset_path, lake_to_table, table_to_lake
from nightshift.stages.context import StageContext, StageResult
from nightshift.warehouse.partitions import count_rows, reset_partitions

OUTPUT_TABLES = ("audience.reconciliation", "audience.replenishment")


def run(ctx: StageContext) -> StageResult:
    client = ctx.client
    reset_partitions(client, ctx.run_date, OUTPUT_TABLES)

    planned_date = ctx.run_date - timedelta(days=1)
    where = "run_date = {d:Date}"
    planned_rows = count_rows(client, "audience.segment_membership", where, {"d": planned_date})
    if planned_rows == 0:
        return StageResult(
            "reconcile", ctx.run_date, summary=f"nothing was planned on {planned_date}: nothing to reconcile"
        )

    lake = ctx.settings.lake_root
    planned_path = dataset_path(lake, "planned_contacts", planned_date)
    table_to_lake(
        client,
        "SELECT segment, toInt64(one_id) AS one_id FROM audience.segment_membership WHERE run_date = {d:Date}",
        planned_path,
        parameters={"d": planned_date},
    )
    recorded_path = dataset_path(lake, "delivery_records", planned_date)

    from pyspark.sql import functions as F

    from nightshift.spark import get_spark
    from spark_jobs.reconcile import missing_deliveries, reconciliation_counts

    spark = get_spark("nightshift-reconcile", ctx.settings)
    planned = spark.read.parquet(planned_path)
    recorded = (
        spark.read.parquet(recorded_path)
        if dataset_exists(recorded_path)
        else spark.createDataFrame([], "segment string, one_id long")
    )
    counts_path = dataset_path(lake, "reconciliation", ctx.run_date)
    batch_path = dataset_path(lake, "replenishment", ctx.run_date)
    (
        reconciliation_counts(planned, recorded)
        .select(F.lit(ctx.run_date).alias("run_date"), F.lit(planned_date).alias("planned_date"), "*")
        .coalesce(1)
        .write.mode("overwrite")
        .parquet(counts_path)
    )
    (
        missing_deliveries(planned, recorded, ctx.run_date.isoformat())
        .select(F.lit(ctx.run_date).alias("run_date"), "*")
        .coalesce(1)
        .write.mode("overwrite")
        .parquet(batch_path)
    )
    lake_to_table(client, counts_path, "audience.reconciliation")
    batch = lake_to_table(client, batch_path, "audience.replenishment")
    return StageResult(
        "reconcile",
        ctx.run_date,
        rows={"audience.replenishment": batch.rows},
        outputs={"replenishment_parquet": batch_path},
        summary=f"{planned_rows} contacts planned on {planned_date}; {batch.rows} missing -> replenishment batch",
    )
