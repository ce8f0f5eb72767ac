"""DDL of the tables ingestion writes: `raw.<source>__<entity>`, `raw.quarantine` and the `ops` bookkeeping.

Raw tables follow the raw-table convention: one column per declared field holding the normalised value,
`<field>_original` for phone/timestamp/amount fields, then the lineage columns. They are partitioned by
`_drop_date` so that re-ingesting one day replaces exactly that day.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from nightshift.sources.model import Entity, Field

STAGE_DATABASE = "ingest_stage"  # per-batch scratch tables, dropped when the batch ends

CLICKHOUSE_TYPES: dict[str, str] = {
    "string": "String",
    "int": "Int64",
    "float": "Float64",
    "bool": "UInt8",
    "timestamp": "DateTime64(3, 'UTC')",
    "date": "Date",
    "phone": "String",
    "amount_fen": "Int64",
    "string_array": "Array(String)",
    "int_array": "Array(Int64)",
    "json": "String",
}
ARRAY_TYPES = frozenset({"string_array", "int_array"})
KEEPS_ORIGINAL = frozenset({"phone", "timestamp", "amount_fen"})

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_drop_date", "Date"),
    ("_batch_id", "String"),
    ("_source_file", "String"),
    ("_line_number", "UInt64"),
    ("_ingested_at", "DateTime64(3, 'UTC')"),
    ("_is_late", "UInt8"),
    ("_extra", "String"),
)


def column_type(field: Field) -> str:
    base = CLICKHOUSE_TYPES[field.type]
    if field.required or field.type in ARRAY_TYPES:
        return base  # arrays cannot be Nullable in ClickHouse; absent means empty
    return f"Nullable({base})"


def raw_columns(entity: Entity) -> list[tuple[str, str]]:
    """(name, type) of every column of the entity's raw table, in table order."""
    columns: list[tuple[str, str]] = []
    for field in entity.fields:
        columns.append((field.name, column_type(field)))
        if field.type in KEEPS_ORIGINAL:
            columns.append((f"{field.name}_original", "String"))
    return columns + list(LINEAGE_COLUMNS)


def raw_table_ddl(entity: Entity, table: str | None = None) -> str:
    columns = ",\n    ".join(f"`{name}` {ctype}" for name, ctype in raw_columns(entity))
    return (
        f"CREATE TABLE IF NOT EXISTS {table or entity.raw_table}\n(\n    {columns}\n)\n"
        "ENGINE = MergeTree\nPARTITION BY _drop_date\nORDER BY (_drop_date, _source_file, _line_number)"
    )


QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS raw.quarantine
(
    _drop_date    Date,
    source        LowCardinality(String),
    entity        LowCardinality(String),
    source_file   String,
    line_number   UInt64,
    raw_line      String,
    reason_code   LowCardinality(String),
    reason        String,
    _batch_id     String,
    _ingested_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY (_drop_date, source)
ORDER BY (source, entity, _drop_date, source_file, line_number)
"""

# Append-only: one row per file per batch. The newest batch of a (day, source, entity) says what is loaded now.
INGESTED_FILES_DDL = """
CREATE TABLE IF NOT EXISTS ops.ingested_files
(
    drop_date     Date,
    source        LowCardinality(String),
    entity        LowCardinality(String),
    source_file   String,
    status        LowCardinality(String),
    sha256        String,
    lines         UInt64,
    loaded        UInt64,
    duplicates    UInt64,
    quarantined   UInt64,
    batch_id      String,
    ingested_at   DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (drop_date, source, entity, source_file)
"""

# Append-only history: what each ingestion run of a (date, source) did, file by file (latest = max ingested_at).
INGESTION_SUMMARY_DDL = """
CREATE TABLE IF NOT EXISTS ops.ingestion_summary
(
    run_date              Date,
    source                LowCardinality(String),
    entity                LowCardinality(String),
    source_file           String,
    status                LowCardinality(String),
    sha256                String,
    encoding              LowCardinality(String),
    lines                 UInt64,
    blank_lines           UInt64,
    loaded                UInt64,
    duplicates            UInt64,
    quarantined           UInt64,
    quarantined_by_reason Map(String, UInt64),
    late_rows             UInt64,
    drift_rows            UInt64,
    drift_fields          Array(String),
    message               String,
    batch_id              String,
    ingested_at           DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (run_date, source, source_file)
"""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "run_date",
    "source",
    "entity",
    "source_file",
    "status",
    "sha256",
    "encoding",
    "lines",
    "blank_lines",
    "loaded",
    "duplicates",
    "quarantined",
    "quarantined_by_reason",
    "late_rows",
    "drift_rows",
    "drift_fields",
    "message",
    "batch_id",
    "ingested_at",
)
REGISTRY_COLUMNS: tuple[str, ...] = (
    "drop_date",
    "source",
    "entity",
    "source_file",
    "status",
    "sha256",
    "lines",
    "loaded",
    "duplicates",
    "quarantined",
    "batch_id",
    "ingested_at",
)


def ensure_ingest_tables(client) -> None:
    for database in ("raw", "ops", STAGE_DATABASE):
        client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    for ddl in (QUARANTINE_DDL, INGESTED_FILES_DDL, INGESTION_SUMMARY_DDL):
        client.command(ddl)


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
