"""What the identity stage reads from and writes to its warehouse tables (declared in nightshift.warehouse.schema).

Every table except `identity.identity_map` is partitioned by run date; the stage resets its run date's partition
before loading, so a re-run replaces it. `identity.identity_map` is the current map (the latest run's partition of
`identity.identity_map_daily`).
"""

from __future__ import annotations

from datetime import date

from nightshift.warehouse.partitions import reset_partitions
from nightshift.warehouse.schema import IDENTITY_DATED_TABLES, ensure_tables

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
    ensure_tables(client, *IDENTITY_DATED_TABLES, "identity.identity_map")
    # Installations from before timings left the summary (they made re-runs differ): drop the column.
    client.command("ALTER TABLE identity.identity_summary DROP COLUMN IF EXISTS seconds")


def clear_run_date(client, run_date: date) -> None:
    """Drop the run date's rows from every dated identity table, so loading it again never duplicates."""
    reset_partitions(client, run_date, IDENTITY_DATED_TABLES)


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
