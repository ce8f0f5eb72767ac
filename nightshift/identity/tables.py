"""Warehouse tables of identity resolution and the daily summary.

Every table except `identity.identity_map` is partitioned by run date; the stage drops its run date's partition
before loading, so a re-run replaces it. `identity.identity_map` is the current map (the latest run's partition of
`identity.identity_map_daily`).
"""

from __future__ import annotations

from datetime import date

from nightshift.tables import drop_date_partition

IDENTITY_MAP_COLUMNS = """
    one_id           UInt64,
    id_type          LowCardinality(String),
    id_value         String,
    first_seen_date  Date,
    last_seen_date   Date
"""

DAILY_TABLES: dict[str, str] = {
    "identity.identity_map_daily": f"""
        CREATE TABLE IF NOT EXISTS identity.identity_map_daily
        (
            run_date Date,
            {IDENTITY_MAP_COLUMNS}
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, id_type, id_value)
    """,
    # One row per person absorbed into another on the run date.
    "identity.identity_merges": """
        CREATE TABLE IF NOT EXISTS identity.identity_merges
        (
            run_date          Date,
            surviving_one_id  UInt64,
            merged_one_id     UInt64,
            merged_ids        UInt64
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, surviving_one_id, merged_one_id)
    """,
    # One row per part of a known person that moved to another one_id on the run date.
    "identity.identity_splits": """
        CREATE TABLE IF NOT EXISTS identity.identity_splits
        (
            run_date         Date,
            original_one_id  UInt64,
            new_one_id       UInt64,
            moved_ids        UInt64
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, original_one_id, new_one_id)
    """,
    # Ids that were not allowed to link: blocklisted placeholders, hubs of oversize components, and ids left
    # unmerged because their component stayed oversize.
    "identity.identity_blocked": """
        CREATE TABLE IF NOT EXISTS identity.identity_blocked
        (
            run_date        Date,
            id_type         LowCardinality(String),
            id_value        String,
            reason          LowCardinality(String),
            degree          Nullable(UInt64),
            component_size  Nullable(UInt64)
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, reason, id_type, id_value)
    """,
    "identity.identity_summary": """
        CREATE TABLE IF NOT EXISTS identity.identity_summary
        (
            run_date           Date,
            people             UInt64,
            ids                UInt64,
            edges              UInt64,
            merges             UInt64,
            splits             UInt64,
            blocked_ids        UInt64,
            largest_component  UInt64
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY run_date
    """,
}

MAP_DDL = f"""
CREATE TABLE IF NOT EXISTS identity.identity_map
(
    {IDENTITY_MAP_COLUMNS}
)
ENGINE = MergeTree
ORDER BY (one_id, id_type, id_value)
"""

PREVIOUS_MAP_SQL = """
SELECT id_type, id_value, toInt64(one_id) AS one_id
FROM identity.identity_map_daily
WHERE run_date = (SELECT max(run_date) FROM identity.identity_map_daily WHERE run_date < {run_date:Date})
"""

# Largest one_id ever issued before the run date: a retired (merged-away) id is never handed out again.
MAX_ISSUED_SQL = "SELECT max(one_id) FROM identity.identity_map_daily WHERE run_date < {run_date:Date}"

SUMMARY_SQL = """
INSERT INTO identity.identity_summary
SELECT
    {run_date:Date},
    (SELECT uniqExact(one_id) FROM identity.identity_map_daily WHERE run_date = {run_date:Date}),
    (SELECT count() FROM identity.identity_map_daily WHERE run_date = {run_date:Date}),
    {edges:UInt64},
    (SELECT count() FROM identity.identity_merges WHERE run_date = {run_date:Date}),
    (SELECT count() FROM identity.identity_splits WHERE run_date = {run_date:Date}),
    (SELECT count() FROM identity.identity_blocked WHERE run_date = {run_date:Date}),
    (SELECT max(ids) FROM (SELECT count() AS ids FROM identity.identity_map_daily
                           WHERE run_date = {run_date:Date} GROUP BY one_id))
"""


def create_tables(client) -> None:
    client.command("CREATE DATABASE IF NOT EXISTS marts")
    for ddl in DAILY_TABLES.values():
        client.command(ddl)
    client.command(MAP_DDL)
    # Installations from before timings left the summary (they made re-runs differ): drop the column.
    client.command("ALTER TABLE identity.identity_summary DROP COLUMN IF EXISTS seconds")


def clear_run_date(client, run_date: date) -> None:
    """Drop the run date's rows from every dated identity table, so loading it again never duplicates."""
    for table in DAILY_TABLES:
        drop_date_partition(client, table, run_date)


def publish_current_map(client, run_date: date) -> None:
    """Make the run date's map the current `identity.identity_map`."""
    client.command("TRUNCATE TABLE identity.identity_map")
    client.command(
        "INSERT INTO identity.identity_map SELECT one_id, id_type, id_value, first_seen_date, last_seen_date "
        "FROM identity.identity_map_daily WHERE run_date = {run_date:Date}",
        parameters={"run_date": run_date},
    )


def write_summary(client, run_date: date, edges: int) -> dict[str, int]:
    """Insert the run date's summary row and return it. No timings: a re-run must reproduce the row exactly."""
    params = {"run_date": run_date, "edges": edges}
    client.command(SUMMARY_SQL, parameters=params)
    row = client.query(
        "SELECT people, ids, edges, merges, splits, blocked_ids, largest_component FROM identity.identity_summary "
        "WHERE run_date = {run_date:Date}",
        parameters=params,
    )
    return dict(zip(row.column_names, (int(v) for v in row.result_rows[0]), strict=True))
