"""Small warehouse helpers shared by the stages: existence checks and partition replacement.

Idempotency rule: a stage that writes dated rows first drops its run date's partition, then inserts, so a
re-run replaces exactly its own date and never appends twice.
"""

from __future__ import annotations

from datetime import date


def table_exists(client, table: str) -> bool:
    database, name = table.split(".", 1)
    return bool(
        client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {name:String}",
            parameters={"db": database, "name": name},
        ).result_rows[0][0]
    )


def drop_date_partition(client, table: str, run_date: date) -> None:
    """Remove one run date's rows from a table partitioned by that date (no-op if the partition is absent)."""
    client.command(f"ALTER TABLE {table} DROP PARTITION '{run_date.isoformat()}'")


def count_rows(client, table: str, where: str = "", parameters: dict | None = None) -> int:
    if not table_exists(client, table):
        return 0
    sql = f"SELECT count() FROM {table}" + (f" WHERE {where}" if where else "")
    return int(client.query(sql, parameters=parameters).result_rows[0][0])
