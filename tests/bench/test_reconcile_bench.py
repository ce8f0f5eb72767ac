"""The reconcile bench's ClickHouse query against the Spark job it is timed beside (bench/reconcile.py).

The bench's comparison runs once on ~2,000 generated keys (the session's Spark and embedded warehouse): both
engines must give the same keys, money and items per class, and the generated data must reach every class, so a
change to `spark_jobs/reconcile.py` that CLASSIFY_SQL does not follow fails here. Nothing is timed.
"""

from __future__ import annotations

import pytest

from bench.reconcile import EngineRun, EnginesDisagree, check_same, compare, generate
from spark_jobs.reconcile import (
    CLASS_ORDER,
    GRANTS_SCHEMA,
    PLAN_SCHEMA,
    PREVIOUS_SCHEMA,
    RECEIPTS_SCHEMA,
    UNPLANNED_GRANT,
)

KEYS = 2_000
SCHEMAS = {"plan": PLAN_SCHEMA, "grants": GRANTS_SCHEMA, "receipts": RECEIPTS_SCHEMA, "previous": PREVIOUS_SCHEMA}
# Tiny frames: one task per stage and no broadcast jobs make Spark's part a few seconds (restored afterwards).
SMALL_DATA_CONF = {"spark.sql.shuffle.partitions": "1", "spark.sql.autoBroadcastJoinThreshold": "-1"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    path = tmp_path_factory.mktemp("reconcile-bench") / "lake"
    generate(path, KEYS)
    return path


@pytest.fixture(scope="module")
def comparison(spark, client, lake):
    """The bench's comparison of both engines (it raises if they disagree, which fails every test here)."""
    before = {key: spark.conf.get(key) for key in SMALL_DATA_CONF}
    for key, value in SMALL_DATA_CONF.items():
        spark.conf.set(key, value)
    try:
        return compare(spark, client, lake, lake.parent / "out")
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def test_inputs_have_exactly_the_jobs_schemas(spark, lake):
    import pyarrow as pa
    import pyarrow.parquet as pq

    spark_types = {pa.string(): "string", pa.int64(): "bigint", pa.date32(): "date", pa.bool_(): "boolean",
                   pa.timestamp("us", tz="UTC"): "timestamp"}  # fmt: skip
    for name, schema in SCHEMAS.items():
        written = pq.read_schema(lake / name / "part-0.parquet")
        declared = spark.createDataFrame([], schema).schema  # the job's DDL, parsed by Spark (no job)
        assert [(field.name, spark_types[field.type]) for field in written] == [
            (field.name, field.dataType.simpleString()) for field in declared
        ], name


def test_both_engines_give_the_same_keys_and_money_per_class(comparison):
    assert comparison.spark.per_class == comparison.clickhouse.per_class
    planned_keys = sum(keys for klass, (keys, _, _) in comparison.spark.per_class.items() if klass != UNPLANNED_GRANT)
    assert planned_keys >= KEYS  # every planned key in the window, plus the made-up originals brought back


def test_both_engines_give_the_same_items(comparison):
    assert comparison.spark_items == comparison.clickhouse_items
    assert {klass: count for klass, (count, _) in comparison.spark_items.items()} == {
        klass: keys for klass, (keys, _, _) in comparison.spark.per_class.items()
    }


def test_the_generated_data_reaches_every_class(comparison):
    assert set(comparison.spark.per_class) == {*CLASS_ORDER, UNPLANNED_GRANT}


def test_a_disagreement_fails_the_bench():
    spark_run = EngineRun(1.0, 0.1, {"ok": (10, 5000, 5000), "pending": (2, 1000, 0)})
    other_money = EngineRun(0.1, 0.0, {"ok": (10, 5000, 5000), "pending": (2, 1000, 500)})
    with pytest.raises(EnginesDisagree, match="pending: Spark"):
        check_same(spark_run, other_money, {}, {})
    same_totals = EngineRun(0.1, 0.0, dict(spark_run.per_class))
    with pytest.raises(EnginesDisagree, match="different items .* ok"):
        check_same(spark_run, same_totals, {"ok": (10, 1), "pending": (2, 2)}, {"ok": (10, 3), "pending": (2, 2)})


# Rule changes the comparison must notice (each is a plausible drift between the job and the query).
DRIFTS = {
    "class order": ("failed = 1, 'delivery_failed',\n               grants > 1, 'duplicate_grant',",
                    "grants > 1, 'duplicate_grant',\n               failed = 1, 'delivery_failed',"),
    "missing receipt before missing grant": (
        "has_benefit AND grants = 0 AND NOT inside_window, 'missing_grant',",
        "expects_receipt AND failed IS NULL AND NOT inside_window, 'missing_receipt',\n"
        "               has_benefit AND grants = 0 AND NOT inside_window, 'missing_grant',",
    ),
    "lag window edge": ("<= {lag} AS inside_window", "< {lag} AS inside_window"),
    "history dates": ("coalesce(p.first_seen_run_date, toDate('{run}'))", "toDate('{run}')"),
    "vendor code": ("coalesce(max(if(NOT delivered, vendor_code, NULL)), max(vendor_code))", "max(vendor_code)"),
}  # fmt: skip


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_a_drifted_query_is_caught(comparison, client, lake, monkeypatch, drift):
    """The generated data are rich enough that each drift changes the totals or the items (ClickHouse only)."""
    import bench.reconcile as bench_reconcile

    original, drifted = DRIFTS[drift]
    assert original in bench_reconcile.CLASSIFY_SQL, f"the drift '{drift}' no longer applies: update DRIFTS"
    monkeypatch.setattr(bench_reconcile, "CLASSIFY_SQL", bench_reconcile.CLASSIFY_SQL.replace(original, drifted))
    out = lake.parent / f"drift-{drift.replace(' ', '-')}"
    drifted_run = bench_reconcile.run_clickhouse(client, lake, out)
    drifted_items = bench_reconcile.item_fingerprints(client, f"{out}/items.parquet")
    with pytest.raises(EnginesDisagree):
        check_same(comparison.spark, drifted_run, comparison.spark_items, drifted_items)
