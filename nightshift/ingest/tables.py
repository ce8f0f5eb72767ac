"""Creating and evolving the tables ingestion writes, and inserting rows into them.

The tables themselves (`raw.<source>__<entity>`, `raw.quarantine`, `ops.ingested_files`, `ops.ingestion_summary`)
are declared in `nightshift.warehouse.schema`.

Raw tables follow the raw-table convention: one column per declared field holding the normalised value,
`<field>_original` for phone/timestamp/amount fields, then the lineage columns. They are partitioned by
`_drop_date` so that re-ingesting one day replaces exactly that day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from nightshift.sources.model import Entity
from nightshift.warehouse.schema import ensure_tables, raw_columns, raw_table_ddl


def ensure_ingest_tables(client) -> None:
    ensure_tables(client, "raw.quarantine", "ops.ingested_files", "ops.ingestion_summary")


_verified_raw_tables: set[tuple[int, str]] = set()


def _normalised(columns) -> list[tuple[str, str]]:
    return [(name, ctype.replace(" ", "")) for name, ctype in columns]


def _added_columns_only(existing, expected) -> bool:
    """True when the declaration only gained fields: the existing columns, in order and with their types, are
    what the declaration gives minus some new ones (nothing removed, renamed, retyped or moved)."""
    remaining = iter(_normalised(expected))
    wanted = _normalised(existing)
    return len(wanted) < len(expected) and all(column in remaining for column in wanted)


def _add_new_columns(client, table: str, existing, expected) -> None:
    """Add the declaration's new columns in place (older rows read them as null / empty), like dbt's
    `on_schema_change: append_new_columns`: a new optional field must not cost a re-ingestion of history."""
    present = {name for name, _ in existing}
    previous = None
    for name, ctype in expected:
        if name not in present:
            position = f" AFTER `{previous}`" if previous else " FIRST"
            client.command(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS `{name}` {ctype}{position}")
        previous = name


def ensure_raw_table(client, entity: Entity) -> None:
    """Create the entity's raw table; add fields newly declared to an existing one; fail clearly if an existing
    one differs from the declaration in any other way (a removed, renamed, retyped or moved column)."""
    client.command(raw_table_ddl(entity))
    key = (id(client), entity.raw_table)
    if key in _verified_raw_tables:
        return  # columns checked once per client and process: the declaration cannot change while we run
    database, table = entity.raw_table.split(".")
    existing = client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position",
        parameters={"db": database, "t": table},
    ).result_rows
    expected = raw_columns(entity)
    if _added_columns_only(existing, expected):
        _add_new_columns(client, entity.raw_table, existing, expected)
        existing = expected
    if [(name, ctype.replace(" ", "")) for name, ctype in existing] != [
        (name, ctype.replace(" ", "")) for name, ctype in expected
    ]:
        from nightshift.ingest.errors import SchemaMismatchError

        raise SchemaMismatchError(
            f"{entity.raw_table} exists with columns {existing} but the declaration of {entity.source}.{entity.name} "
            f"now gives {expected}. Raw tables are rebuilt from the landing files: drop the table "
            f"(DROP TABLE {entity.raw_table}) and re-ingest the days you need."
        )
    _verified_raw_tables.add(key)


def _json_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if value.tzinfo else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def insert_rows(client, table: str, column_names: list[str] | tuple[str, ...], rows: list[list]) -> None:
    """Insert rows as JSONEachRow through `raw_insert`.

    clickhouse-connect's `insert()` imports pandas on first use (seconds per process); ingestion has no other
    need for it, so rows go over the wire as JSON text, which ClickHouse parses natively.
    """
    if not rows:
        return
    payload = "\n".join(
        json.dumps(dict(zip(column_names, map(_json_value, row), strict=True)), ensure_ascii=False) for row in rows
    )
    client.raw_insert(table, list(column_names), payload.encode("utf-8"), fmt="JSONEachRow")
