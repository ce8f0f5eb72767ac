"""Partition replacement and small existence checks shared by the stages.

Idempotency rule: a stage that writes dated rows first resets its run date's partition of every table it writes
(`reset_partitions`), then inserts, so a re-run replaces exactly its own date and never appends twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from nightshift.warehouse.schema import ensure_tables


def table_exists(client, table: str) -> bool:
    database, name = table.split(".", 1)
    return bool(
        client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {name:String}",
            parameters={"db": database, "name": name},
        ).result_rows[0][0]
    )


def has_column(client, table: str, column: str) -> bool:
    """Whether an existing table has a column (an older installation may lack one a declaration added)."""
    database, name = table.split(".", 1)
    return bool(
        client.query(
            "SELECT count() FROM system.columns WHERE database = {db:String} AND table = {t:String} "
            "AND name = {c:String}",
            parameters={"db": database, "t": name, "c": column},
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


def reset_partitions(client, run_date: date, tables: Iterable[str]) -> None:
    """Before a stage writes its run date: create its tables if needed and empty that date's partition of each."""
    for table in tables:
        ensure_tables(client, table)
        drop_date_partition(client, table, run_date)
