"""Reconciliation benchmark: the reconcile job's classify + summarise in Spark against the same classification as
ONE ClickHouse query, timed in the same run over the same Parquet files.

    python -m bench.reconcile                    # 1,000,000 planned keys
    python -m bench.reconcile --keys 10000000    # the issue's target (goal: Spark under 60 s on 2 cores)

Generates N planned keys spread over the reconciliation window (plus a few older keys out of scope), ~N benefit
ledger rows, ~N vendor receipts and yesterday's history, with a small share of every fault (missing, duplicate,
mismatched, unplanned and keyless grants, failed, repeated and missing receipts, originals made up with and without
a granted make-up, keys with two faults where the order of the classes decides), as Parquet in exactly the job's
input schemas (`spark_jobs.reconcile.PLAN_SCHEMA`, `GRANTS_SCHEMA`, `RECEIPTS_SCHEMA`, `PREVIOUS_SCHEMA`).
Generation uses numpy and pyarrow, not Spark, and is not timed. Then, over the same files:

- Spark: `classify` + `summarise` as the reconcile stage runs them (items written as Parquet with the run date in
  front, then read back for the summary, not cached).
- ClickHouse: `CLASSIFY_SQL`, one query in the embedded engine (`nightshift.warehouse.get_client` in a scratch
  NIGHTSHIFT_HOME) that restates the job's rules (same classes in `CLASS_ORDER`, same scope, same history columns)
  and writes the items as Parquet, then `SUMMARY_SQL` over them.

Both engines first run once on a 10,000-key lake (untimed): in the nightly pipeline the stage runs in a Spark
session that earlier stages have warmed. The bench fails (exit code 1) unless both engines give the same keys and
money per class and the same items (a per-class fingerprint of every column of every item). It prints both times,
their ratio, the machine and the load average: on a shared machine other jobs slow either engine down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import load_average, machine_description
from spark_jobs.reconcile import (
    CHANNELS_WITH_RECEIPTS,
    CLASS_ORDER,
    DEFAULT_LAG_DAYS,
    ITEM_COLUMNS,
    PLAN_SOURCE,
    REPLENISHMENT_SOURCE,
    UNPLANNED_GRANT,
)

# Wide enough for the figures table when the output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)
BENCH_DATE = date(2026, 11, 20)
LAG_DAYS = DEFAULT_LAG_DAYS
WINDOW_DAYS = LAG_DAYS + 1  # business dates run_date - (lag + 1) .. run_date - 1 are in scope
DEFAULT_KEYS = 1_000_000
WARM_UP_KEYS = 10_000
CAMPAIGNS = 20
CHANNELS = ("wechat_oa_template", "sms", "app_push", "wecom", "outbound_call")
BENEFIT_FEN = 500
KEY_CHARS = 32  # like a real contact_id
FAILED_CODES = ("E_UNDELIV", "isv.MOBILE_NUMBER_ILLEGAL", "IC:0055")
DELIVERED_CODES = ("DELIVRD", "0")
# Shares of the planned keys with each fault (the rest is granted as planned and delivered).
BENEFIT_SHARE = 0.8
NO_GRANT_SHARE = 0.01  # missing_grant on the oldest day of the window, pending on the others
DUPLICATE_SHARE = 0.005
MISMATCH_SHARE = 0.005  # also the share of keys promising nothing that get a grant anyway
UNPLANNED_SHARE = 0.003  # grants on no planned key, half of them without a key
UNPLANNED_TONIGHT_SHARE = 0.7  # the rest was reported on an earlier night: not tonight's items
FAILED_RECEIPT_SHARE = 0.01
NO_RECEIPT_SHARE = 0.01
REPEATED_RECEIPT_SHARE = 0.01  # a second receipt (delivered) for the key, as a re-sent vendor report gives
REPEATED_FAILURE_SHARE = 0.3  # failures are often retried: a delivered receipt after the failed one
REPEAT_CODE = "RETRY_DELIVRD"  # sorts above most failure codes: the failed receipt's code must still win
MADE_UP_SHARE = 0.005  # originals outside the window with a make-up order inside it
GRANTED_MAKE_UP_SHARE = 0.6
STALE_SHARE = 0.02  # keys handed over before the window: in the plan and the history, never classified
# Keys with two faults, so that the order of the classes decides (independent faults rarely meet on few keys):
# every COMBINED_EVERY-th key is failed by the vendor AND granted twice, and the one 3 later (the oldest day of the
# window) is neither granted nor answered by its vendor.
COMBINED_EVERY = 200
UNRESOLVED_SHARE = 0.1  # keys of yesterday's history without a final class yet


# ------------------------------------------------------------------------------------------------ generation
def _keys(prefix: str, numbers):
    """Strings of KEY_CHARS characters: the prefix, then the number zero-padded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), KEY_CHARS - len(prefix), "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(numpy_days):
    import pyarrow as pa

    return pa.array(numpy_days.astype("datetime64[D]"), pa.date32())


def _strings(values, length: int):
    import numpy as np
    import pyarrow as pa

    return pa.array(np.full(length, values), pa.string())


def _concat(arrays: list):
    """One array from arrays and chunked arrays (pyarrow returns chunks for some inputs of 10M values)."""
    import pyarrow as pa

    chunks = [chunk for array in arrays for chunk in (array.chunks if isinstance(array, pa.ChunkedArray) else [array])]
    return pa.concat_arrays(chunks)


def _table(arrays: dict, nullable: tuple[str, ...] = ()):
    """A pyarrow table whose columns are required (no nulls) except `nullable`, as the normalised inputs are."""
    import pyarrow as pa

    schema = pa.schema([pa.field(name, array.type, nullable=name in nullable) for name, array in arrays.items()])
    return pa.table(arrays, schema=schema)


def _write(table, directory: Path) -> int:
    import pyarrow.parquet as pq

    directory.mkdir(parents=True)
    pq.write_table(table, directory / "part-0.parquet", row_group_size=1 << 20)
    return table.num_rows


@dataclass
class Planned:
    """The N planned keys (numpy and pyarrow arrays of one length), M made-up originals and S stale keys."""

    number: object  # 0..N-1
    business_date: object  # datetime64[D]
    campaign: object
    channel: object
    one_id: object
    has_benefit: object
    failed_and_duplicate: object  # bool per key
    no_grant_no_receipt: object
    planned_fen: object
    made_up: int
    stale: int


def planned_keys(rng, keys: int) -> Planned:
    """N keys over the window's days, 20 campaigns, random channels and people, 80% promising a benefit."""
    import numpy as np
    import pyarrow as pa

    number = np.arange(keys, dtype=np.int64)
    has_benefit = rng.random(keys) < BENEFIT_SHARE
    return Planned(
        number=number,
        business_date=np.datetime64(BENCH_DATE) - 1 - (number % WINDOW_DAYS),
        campaign=pa.array([f"c{n:02d}" for n in range(CAMPAIGNS)]).take(pa.array(number % CAMPAIGNS)),
        channel=pa.array(CHANNELS).take(pa.array(rng.integers(0, len(CHANNELS), keys))),
        one_id=rng.integers(1, max(keys // 2, 2), keys),
        has_benefit=has_benefit,
        failed_and_duplicate=has_benefit & (number % COMBINED_EVERY == 0),
        no_grant_no_receipt=has_benefit & (number % COMBINED_EVERY == WINDOW_DAYS - 1),
        planned_fen=np.where(has_benefit, BENEFIT_FEN, 0),
        made_up=max(int(keys * MADE_UP_SHARE), 1),
        stale=max(int(keys * STALE_SHARE), 1),
    )


def _stale_dates(planned: Planned):
    import numpy as np

    return np.datetime64(BENCH_DATE) - 1 - WINDOW_DAYS - (np.arange(planned.stale) % 3)


def plan_table(planned: Planned):
    """The planned keys; M originals from before the window (no grant) and their make-up orders inside it (no
    channel: a grant, no message); S keys from before the window that nothing brings back into scope."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    run, made_up, stale, keys = np.datetime64(BENCH_DATE), planned.made_up, planned.stale, len(planned.number)
    originals, make_ups = _keys("o", np.arange(made_up)), _keys("m", np.arange(made_up))
    campaign, channel = planned.campaign.slice(0, made_up), planned.channel.slice(0, made_up)
    made_up_benefit = pc.binary_join_element_wise("b", campaign, "")
    benefit = pc.if_else(pa.array(planned.has_benefit), pc.binary_join_element_wise("b", planned.campaign, ""), "")
    parts = {
        "contact_id": [_keys("k", planned.number), originals, make_ups, _keys("s", np.arange(stale))],
        "business_date": [
            _dates(planned.business_date),
            _dates(np.full(made_up, run - 6)),
            _dates(np.full(made_up, run - 2)),
            _dates(_stale_dates(planned)),
        ],
        "campaign_id": [planned.campaign, campaign, campaign, planned.campaign.slice(0, stale)],
        "channel": [planned.channel, channel, _strings("", made_up), planned.channel.slice(0, stale)],
        "one_id": [
            pa.array(planned.one_id),
            pa.array(planned.one_id[:made_up]),
            pa.array(planned.one_id[:made_up]),
            pa.array(planned.one_id[:stale]),
        ],
        "benefit_id": [benefit, made_up_benefit, made_up_benefit, benefit.slice(0, stale)],
        "planned_fen": [
            pa.array(planned.planned_fen),
            pa.array(np.full(2 * made_up, BENEFIT_FEN)),
            pa.array(planned.planned_fen[:stale]),
        ],
        "source": [
            _strings(PLAN_SOURCE, keys + made_up),
            _strings(REPLENISHMENT_SOURCE, made_up),
            _strings(PLAN_SOURCE, stale),
        ],
        "replenishes": [_strings("", keys + made_up), originals, _strings("", stale)],
    }
    return _table({name: _concat(arrays) for name, arrays in parts.items()})


def grants_table(rng, planned: Planned):
    """One grant per benefit key, except none / two / another amount for a few, a grant of 100 on a few keys
    promising nothing, the granted make-ups, and unplanned grants (half without a key, the rest on unknown keys),
    most of them reported tonight. A grant is reported on its business date or the day after."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys, run = len(planned.number), np.datetime64(BENCH_DATE)
    fault = rng.random(keys)
    benefit = planned.has_benefit
    no_grant = (benefit & (fault < NO_GRANT_SHARE) & ~planned.failed_and_duplicate) | planned.no_grant_no_receipt
    duplicate = benefit & (fault >= NO_GRANT_SHARE) & (fault < NO_GRANT_SHARE + DUPLICATE_SHARE)
    duplicate = (duplicate & ~planned.no_grant_no_receipt) | planned.failed_and_duplicate
    mismatch_from = NO_GRANT_SHARE + DUPLICATE_SHARE
    mismatch = benefit & (fault >= mismatch_from) & (fault < mismatch_from + MISMATCH_SHARE)
    without_benefit = ~benefit & (fault < MISMATCH_SHARE)
    first = (benefit & ~no_grant) | without_benefit
    amount = np.where(mismatch, 300, np.where(without_benefit, 100, planned.planned_fen))
    make_up_granted = rng.random(planned.made_up) < GRANTED_MAKE_UP_SHARE
    granted_make_ups = int(make_up_granted.sum())
    unplanned = max(int(keys * UNPLANNED_SHARE), 2)
    keyless = rng.random(unplanned) < 0.5
    unplanned_reported = np.where(rng.random(unplanned) < UNPLANNED_TONIGHT_SHARE, run, run - 1)

    def moments(days):
        seconds = days.astype("datetime64[s]") + rng.integers(0, 86_400, len(days))
        return pa.array(seconds.astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))

    def reported(days):
        return np.minimum(days + rng.integers(0, 2, len(days)), run)

    parts = {
        "contact_id": [
            _keys("k", planned.number[first]),
            _keys("k", planned.number[duplicate]),
            _keys("m", np.arange(planned.made_up)[make_up_granted]),
            pc.if_else(pa.array(keyless), "", _keys("x", np.arange(unplanned))),
        ],
        "campaign_id": [
            planned.campaign.filter(pa.array(first)),
            planned.campaign.filter(pa.array(duplicate)),
            planned.campaign.slice(0, planned.made_up).filter(pa.array(make_up_granted)),
            planned.campaign.slice(0, unplanned),
        ],
        "one_id": [
            pa.array(planned.one_id[first]),
            pa.array(planned.one_id[duplicate]),
            pa.array(planned.one_id[: planned.made_up][make_up_granted]),
            pa.array(np.where(keyless, None, planned.one_id[:unplanned]), pa.int64()),
        ],
        "amount_fen": [
            pa.array(amount[first]),
            pa.array(planned.planned_fen[duplicate]),
            pa.array(np.full(granted_make_ups + unplanned, BENEFIT_FEN)),
        ],
        "granted_at": [
            moments(planned.business_date[first]),
            moments(planned.business_date[duplicate]),
            moments(np.full(granted_make_ups, run - 2)),
            moments(unplanned_reported - rng.integers(0, 2, unplanned)),
        ],
        "reported_date": [
            _dates(reported(planned.business_date[first])),
            _dates(reported(planned.business_date[duplicate])),
            _dates(np.full(granted_make_ups, run - 1)),
            _dates(unplanned_reported),
        ],
    }
    columns = {name: _concat(arrays) for name, arrays in parts.items()}
    grant_ids = _keys("g", np.arange(len(columns["contact_id"])))
    return _table({"grant_id": grant_ids, **columns}, nullable=("one_id",))


def receipts_table(rng, planned: Planned):
    """One receipt per key on a channel with receipts, on the day of sending or the day after; failed or missing
    for a few, and a second (delivered) receipt for a few more and for many failures."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    outcome = rng.random(len(planned.number))
    has_receipts = pc.is_in(planned.channel, value_set=pa.array(CHANNELS_WITH_RECEIPTS)).to_numpy(zero_copy_only=False)
    failed = has_receipts & ((outcome < FAILED_RECEIPT_SHARE) | planned.failed_and_duplicate)
    answered = (outcome >= FAILED_RECEIPT_SHARE + NO_RECEIPT_SHARE) & ~planned.no_grant_no_receipt
    sent = failed | (has_receipts & answered)
    repeat = rng.random(len(planned.number))
    repeated = (sent & (repeat < REPEATED_RECEIPT_SHARE)) | (failed & (repeat < REPEATED_FAILURE_SHARE))
    first_codes = np.where(
        failed[sent],
        np.array(FAILED_CODES)[rng.integers(0, len(FAILED_CODES), int(sent.sum()))],
        np.array(DELIVERED_CODES)[rng.integers(0, len(DELIVERED_CODES), int(sent.sum()))],
    )
    return _table(
        {
            "contact_id": _concat([_keys("k", planned.number[sent]), _keys("k", planned.number[repeated])]),
            "channel": _concat([planned.channel.filter(pa.array(sent)), planned.channel.filter(pa.array(repeated))]),
            "delivered": pa.array(np.concatenate([~failed[sent], np.ones(int(repeated.sum()), bool)])),
            "vendor_code": pa.array(np.concatenate([first_codes, np.full(int(repeated.sum()), REPEAT_CODE)])),
            "reported_date": _dates(
                np.concatenate(
                    [
                        planned.business_date[sent] + rng.integers(0, 2, int(sent.sum())),
                        planned.business_date[repeated] + 1,
                    ]
                )
            ),  # fmt: skip
        }
    )


def previous_table(rng, planned: Planned):
    """Yesterday's history (the reconcile stage's PREVIOUS_SQL): keys first reconciled the night after their
    business date, a few still without a final class; the originals (missing_grant once their window passed) and the
    stale keys."""
    import numpy as np
    import pyarrow as pa

    run = np.datetime64(BENCH_DATE)
    seen = planned.business_date < run - 1
    first_seen = np.concatenate([
        planned.business_date[seen] + 1, np.full(planned.made_up, run - 5), _stale_dates(planned) + 1
    ])  # fmt: skip
    resolved = np.concatenate([
        planned.business_date[seen] + 1, np.full(planned.made_up, run - 2), _stale_dates(planned) + 1
    ])  # fmt: skip
    unresolved = np.concatenate([rng.random(int(seen.sum())) < UNRESOLVED_SHARE,
                                 np.zeros(planned.made_up + planned.stale, bool)])  # fmt: skip
    contact_ids = [_keys("k", planned.number[seen]), _keys("o", np.arange(planned.made_up)),
                   _keys("s", np.arange(planned.stale))]  # fmt: skip
    return _table(
        {
            "contact_id": _concat(contact_ids),
            "first_seen_run_date": _dates(first_seen),
            "resolved_run_date": pa.array(np.where(unresolved, np.datetime64("NaT"), resolved).astype("datetime64[D]"),
                                          pa.date32(), from_pandas=True),
        },
        nullable=("resolved_run_date",),
    )  # fmt: skip


def generate(lake: Path, keys: int, seed: int = 42) -> dict[str, int]:
    """Write plan, grants, receipts and previous under `lake` (a directory each); returns rows per dataset."""
    import numpy as np

    rng = np.random.default_rng(seed)
    planned = planned_keys(rng, keys)
    tables = {
        "plan": plan_table(planned),
        "grants": grants_table(rng, planned),
        "receipts": receipts_table(rng, planned),
        "previous": previous_table(rng, planned),
    }
    return {name: _write(table, lake / name) for name, table in tables.items()}


# ------------------------------------------------------------------------------------------------ engines
@dataclass
class EngineRun:
    """One engine's run: seconds for the items and for the summary, and per class (keys, planned fen, granted fen)."""

    classify_seconds: float
    summary_seconds: float
    per_class: dict[str, tuple[int, int, int]]

    @property
    def seconds(self) -> float:
        return self.classify_seconds + self.summary_seconds


class EnginesDisagree(AssertionError):
    """Spark and ClickHouse classified the same inputs differently."""


# The job's rules (spark_jobs/reconcile.py, step 1) restated as one query, written as joins: the job computes the same
# per-key totals in one keyed pass (`_keyed_rows`, `_key_totals`); each CTE names the totals it restates.
# join_use_nulls: an unmatched LEFT JOIN gives NULL as in Spark (not 0 or ''), so "no receipt" stays distinguishable.
# Plan keys are unique (contact_history's contact_id), so the job's union + dropDuplicates is one filter here.
CLASSIFY_SQL = """
INSERT INTO FUNCTION file('{out}/items.parquet', Parquet)
WITH
plan AS (SELECT * FROM file('{lake}/plan/*.parquet', Parquet)),
ledger AS (SELECT * FROM file('{lake}/grants/*.parquet', Parquet)),
grant_totals AS (  -- grants, granted_fen
    SELECT contact_id, count() AS grants, sum(amount_fen) AS granted_fen
    FROM ledger WHERE contact_id != '' GROUP BY contact_id
),
receipt_status AS (  -- failed, code_rank: failed if any receipt failed (with that code)
    SELECT contact_id, max(toUInt8(NOT delivered)) AS failed,
           coalesce(max(if(NOT delivered, vendor_code, NULL)), max(vendor_code)) AS vendor_code
    FROM file('{lake}/receipts/*.parquet', Parquet) GROUP BY contact_id
),
recent AS (
    SELECT contact_id, replenishes FROM plan
    WHERE business_date >= toDate('{first}') AND business_date < toDate('{run}')
),
scoped AS (  -- in_window, is_referenced: the window, and the originals of make-ups inside it
    SELECT * FROM plan
    WHERE (business_date >= toDate('{first}') AND business_date < toDate('{run}'))
       OR contact_id IN (SELECT replenishes FROM recent WHERE replenishes != '')
),
make_up_status AS (  -- make_up_granted
    SELECT p.replenishes AS contact_id, max(coalesce(t.grants, 0) > 0) AS make_up_granted
    FROM plan AS p LEFT JOIN grant_totals AS t ON t.contact_id = p.contact_id
    WHERE p.replenishes != '' GROUP BY p.replenishes
),
joined AS (
    SELECT s.contact_id AS contact_id, s.business_date AS business_date, s.campaign_id AS campaign_id,
           s.channel AS channel, s.one_id AS one_id, s.planned_fen AS planned_fen,
           coalesce(t.grants, 0) AS grants, coalesce(t.granted_fen, 0) AS granted_fen, r.failed AS failed,
           r.vendor_code AS receipt_code, m.make_up_granted AS make_up_granted,
           s.benefit_id != '' AND s.planned_fen > 0 AS has_benefit,
           dateDiff('day', s.business_date, toDate('{run}')) <= {lag} AS inside_window,
           s.channel IN {receipt_channels} AS expects_receipt
    FROM scoped AS s
    LEFT JOIN grant_totals AS t ON t.contact_id = s.contact_id
    LEFT JOIN receipt_status AS r ON r.contact_id = s.contact_id
    LEFT JOIN make_up_status AS m ON m.contact_id = s.contact_id
),
classified AS (  -- _class: the first class that applies, in CLASS_ORDER
    SELECT business_date, campaign_id, channel, contact_id, one_id,
           multiIf(
               failed = 1, 'delivery_failed',
               grants > 1, 'duplicate_grant',
               has_benefit AND grants = 1 AND granted_fen != planned_fen, 'amount_mismatch',
               has_benefit AND grants = 0 AND coalesce(make_up_granted, false), 'replenished',
               has_benefit AND grants = 0 AND NOT inside_window, 'missing_grant',
               has_benefit AND grants = 0, 'pending',
               expects_receipt AND failed IS NULL AND inside_window, 'pending',
               expects_receipt AND failed IS NULL, 'missing_receipt',
               'ok') AS class,
           toInt64(planned_fen) AS planned_fen, toInt64(granted_fen) AS granted_fen, toInt64(grants) AS grants,
           multiIf(failed = 1, 'failed', failed = 0, 'delivered', '') AS vendor_status,
           coalesce(receipt_code, '') AS vendor_code
    FROM joined
),
history AS (SELECT * FROM file('{lake}/previous/*.parquet', Parquet)),
with_history AS (  -- seen_before, resolved_before: earlier nights' dates are never overwritten
    SELECT i.business_date, i.campaign_id, i.channel, i.contact_id, i.one_id, i.class, i.planned_fen,
           i.granted_fen, i.grants, i.vendor_status, i.vendor_code,
           coalesce(p.first_seen_run_date, toDate('{run}')) AS first_seen_run_date,
           coalesce(p.resolved_run_date, if(i.class != 'pending', toDate('{run}'), NULL)) AS resolved_run_date
    FROM classified AS i LEFT JOIN history AS p ON p.contact_id = i.contact_id
),
unplanned AS (  -- _tonight: reported tonight, answering no planned key (NULL keys answer none)
    SELECT toDate(granted_at, 'UTC') AS business_date, campaign_id, '' AS channel, contact_id, one_id,
           'unplanned_grant' AS class, toInt64(0) AS planned_fen, toInt64(amount_fen) AS granted_fen,
           toInt64(1) AS grants, '' AS vendor_status, '' AS vendor_code,
           toDate('{run}') AS first_seen_run_date, toDate('{run}') AS resolved_run_date
    FROM ledger
    WHERE reported_date = toDate('{run}')
      AND (contact_id IS NULL OR contact_id NOT IN (SELECT contact_id FROM plan WHERE contact_id IS NOT NULL))
)
SELECT toDate('{run}') AS run_date, * FROM with_history
UNION ALL
SELECT toDate('{run}') AS run_date, * FROM unplanned
SETTINGS join_use_nulls = 1, session_timezone = 'UTC'
"""
SUMMARY_SQL = """
INSERT INTO FUNCTION file('{out}/summary.parquet', Parquet)
SELECT toDate('{run}') AS run_date, business_date, campaign_id, class, count() AS keys,
       sum(planned_fen) AS planned_fen, sum(granted_fen) AS granted_fen
FROM file('{out}/items.parquet', Parquet) GROUP BY business_date, campaign_id, class
"""
# Per class: items and an order-free fingerprint of every column of every item (NULL spelled out), so the items
# themselves, not only their totals, must be the same in both engines.
FINGERPRINT_SQL = """
SELECT class, count(), sum(cityHash64({columns})) FROM file('{items}', Parquet) GROUP BY class
"""


def summary_per_class(summary: Path) -> dict[str, tuple[int, int, int]]:
    """Per class (keys, planned fen, granted fen) of a written summary (a file or a directory), read with pyarrow:
    one reader, independent of both engines."""
    import pyarrow.parquet as pq

    table = pq.read_table(summary, columns=["class", "keys", "planned_fen", "granted_fen"])
    totals = table.group_by("class").aggregate([("keys", "sum"), ("planned_fen", "sum"), ("granted_fen", "sum")])
    return {
        row["class"]: (int(row["keys_sum"]), int(row["planned_fen_sum"]), int(row["granted_fen_sum"]))
        for row in totals.to_pylist()
    }


def run_clickhouse(client, lake: Path, out: Path, run_date: date = BENCH_DATE) -> EngineRun:
    """CLASSIFY_SQL then SUMMARY_SQL in the warehouse behind `client` (an embedded engine: it reads local files)."""
    out.mkdir(parents=True)
    parameters = {
        "lake": lake,
        "out": out,
        "first": run_date - timedelta(days=WINDOW_DAYS),
        "run": run_date,
        "lag": LAG_DAYS,
        "receipt_channels": "(" + ", ".join(f"'{channel}'" for channel in CHANNELS_WITH_RECEIPTS) + ")",
    }
    started = time.perf_counter()
    client.command(CLASSIFY_SQL.format(**parameters))
    classify_seconds = time.perf_counter() - started
    started = time.perf_counter()
    client.command(SUMMARY_SQL.format(out=out, run=run_date))
    summary_seconds = time.perf_counter() - started
    return EngineRun(classify_seconds, summary_seconds, summary_per_class(out / "summary.parquet"))


def run_spark(spark, lake: Path, out: Path, run_date: date = BENCH_DATE) -> EngineRun:
    """`classify` + `summarise` as the reconcile stage runs them: inputs read with the job's schemas, items written
    as Parquet with the run date in front and read back (not cached) for the summary, written the same way."""
    from pyspark.sql import functions as F

    from spark_jobs.reconcile import GRANTS_SCHEMA, PLAN_SCHEMA, PREVIOUS_SCHEMA, RECEIPTS_SCHEMA, classify, summarise

    schemas = {"plan": PLAN_SCHEMA, "grants": GRANTS_SCHEMA, "receipts": RECEIPTS_SCHEMA, "previous": PREVIOUS_SCHEMA}
    inputs = {name: spark.read.schema(schema).parquet(str(lake / name)) for name, schema in schemas.items()}

    def write(frame, name: str) -> None:
        frame.select(F.lit(run_date).alias("run_date"), "*").write.mode("overwrite").parquet(str(out / name))

    started = time.perf_counter()
    write(classify(inputs["plan"], inputs["grants"], inputs["receipts"], inputs["previous"], run_date, LAG_DAYS),
          "items")  # fmt: skip
    classify_seconds = time.perf_counter() - started
    started = time.perf_counter()
    write(summarise(spark.read.parquet(str(out / "items")).drop("run_date")), "summary")
    summary_seconds = time.perf_counter() - started
    return EngineRun(classify_seconds, summary_seconds, summary_per_class(out / "summary"))


def item_fingerprints(client, items: str) -> dict[str, tuple[int, int]]:
    """Per class: (items, fingerprint of all their columns) of the Parquet file(s) `items` (a path or glob)."""
    columns = ", ".join(f"ifNull(toString({column}), '\\\\N')" for column in ITEM_COLUMNS)
    rows = client.query(FINGERPRINT_SQL.format(columns=columns, items=items)).result_rows
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def check_same(spark_run: EngineRun, clickhouse_run: EngineRun, spark_items: dict, clickhouse_items: dict) -> None:
    """Raise EnginesDisagree, naming the classes, unless both engines give the same keys, money and items."""
    differing = sorted(
        klass
        for klass in set(spark_run.per_class) | set(clickhouse_run.per_class)
        if spark_run.per_class.get(klass) != clickhouse_run.per_class.get(klass)
    )
    if differing:
        raise EnginesDisagree(
            "Spark and ClickHouse give different (keys, planned fen, granted fen) for "
            + "; ".join(f"{k}: Spark {spark_run.per_class.get(k)}, ClickHouse {clickhouse_run.per_class.get(k)}"
                        for k in differing)
            + ". CLASSIFY_SQL in bench/reconcile.py no longer matches spark_jobs/reconcile.py: align it."
        )  # fmt: skip
    differing = sorted(
        k for k in set(spark_items) | set(clickhouse_items) if spark_items.get(k) != clickhouse_items.get(k)
    )
    if differing:
        raise EnginesDisagree(
            f"Same totals but different items (columns or history dates) in class(es) {', '.join(differing)}. "
            "CLASSIFY_SQL in bench/reconcile.py no longer matches spark_jobs/reconcile.py: align it."
        )


@dataclass
class Comparison:
    spark: EngineRun
    clickhouse: EngineRun
    spark_items: dict[str, tuple[int, int]]
    clickhouse_items: dict[str, tuple[int, int]]


def compare(spark, client, lake: Path, out: Path) -> Comparison:
    """Both engines over `lake`, outputs under `out`; raises EnginesDisagree unless they agree."""
    spark_run = run_spark(spark, lake, out / "spark")
    clickhouse_run = run_clickhouse(client, lake, out / "clickhouse")
    spark_items = item_fingerprints(client, f"{out}/spark/items/*.parquet")
    clickhouse_items = item_fingerprints(client, f"{out}/clickhouse/items.parquet")
    check_same(spark_run, clickhouse_run, spark_items, clickhouse_items)
    return Comparison(spark_run, clickhouse_run, spark_items, clickhouse_items)


# ------------------------------------------------------------------------------------------------ the bench
def bench_reconcile(keys: int, keep: bool = False) -> Comparison:
    """Generate `keys` planned keys with their ledger and receipts, run both engines, print the figures.

    Works in a temporary directory (its own NIGHTSHIFT_HOME), removed at the end unless `keep` or the engines
    disagree."""
    work = Path(tempfile.mkdtemp(prefix="nightshift-bench-reconcile-"))
    os.environ["NIGHTSHIFT_HOME"] = str(work / "home")
    os.environ.pop("NIGHTSHIFT_CLICKHOUSE_URL", None)  # CLASSIFY_SQL reads local files: the embedded engine
    from nightshift.settings import get_settings
    from nightshift.spark import get_spark
    from nightshift.warehouse import get_client

    settings = get_settings()
    kept = keep
    try:
        started = time.perf_counter()
        rows = generate(work / "lake", keys)
        generate_seconds = time.perf_counter() - started
        console.print(
            f"reconcile bench: {keys:,} planned keys, lag {LAG_DAYS} days, run date {BENCH_DATE}; generated in "
            f"{generate_seconds:.1f} s (numpy/pyarrow, not timed below): "
            + ", ".join(f"{name} {count:,}" for name, count in rows.items())
            + f" rows; in {work}"
        )
        spark = get_spark("nightshift-bench-reconcile", settings)
        client = get_client(settings)
        # Warm both engines first: in the nightly pipeline the stage runs in a Spark session earlier stages warmed.
        generate(work / "warm-up", WARM_UP_KEYS)
        compare(spark, client, work / "warm-up", work / "warm-up-out")
        load_before = load_average()
        result = compare(spark, client, work / "lake", work / "out")
        load_after = load_average()
    except EnginesDisagree as error:
        kept = True  # the inputs and both outputs are the evidence
        console.print(f"[red]reconcile bench FAILED: {error}[/]\n  inputs and outputs kept in {work}")
        raise
    finally:
        if not kept:
            shutil.rmtree(work, ignore_errors=True)
    _print(keys, result, load_before, load_after, settings)
    return result


def _print(keys: int, result: Comparison, load_before: str, load_after: str, settings) -> None:
    classes = Table("class", "keys", "planned fen", "granted fen", title="per class (the same in both engines)")
    order = [*CLASS_ORDER, UNPLANNED_GRANT]
    for klass in sorted(result.spark.per_class, key=lambda k: order.index(k) if k in order else len(order)):
        count, planned, granted = result.spark.per_class[klass]
        classes.add_row(klass, f"{count:,}", f"{planned:,}", f"{granted:,}")
    console.print(classes)
    spark, clickhouse = result.spark, result.clickhouse
    figures = Table(
        "keys", "Spark s", "ClickHouse s", "Spark / ClickHouse", "machine", "load average (1/5/15 min)",
        title=f"reconcile: classify + summarise, Spark {settings.spark_master} vs one ClickHouse query (chdb)",
    )  # fmt: skip
    figures.add_row(
        f"{keys:,}",
        f"{spark.seconds:.1f} ({spark.classify_seconds:.1f} + {spark.summary_seconds:.1f})",
        f"{clickhouse.seconds:.1f} ({clickhouse.classify_seconds:.1f} + {clickhouse.summary_seconds:.1f})",
        f"{spark.seconds / clickhouse.seconds:.1f}x",
        machine_description(),
        f"{load_before} -> {load_after}",
    )
    console.print(figures)
    console.print("  seconds: items + summary, each written as Parquet; items are the same in both engines")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=DEFAULT_KEYS, help="planned keys (default: 1,000,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary inputs and outputs")
    args = parser.parse_args(argv)
    try:
        bench_reconcile(args.keys, args.keep)
    except EnginesDisagree:
        sys.exit(1)


if __name__ == "__main__":
    main()
