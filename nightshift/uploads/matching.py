"""Match an uploaded list through the identity map: each row becomes one person, or an unmatched row with a reason.

Ids are normalised the way ingestion writes them into the map: phones to E.164 (11-digit Chinese mobiles in SQL,
other shapes with `phonenumbers` for up to MAX_SLOW_PHONES distinct values), other ids trimmed and checked to be
plain tokens. A row matches when its ids lead to exactly one one_id; ids of different people are reported, never
guessed. Values reach ClickHouse only as data (an inserted column), never as SQL text.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date

from nightshift.ingest import phones
from nightshift.uploads.reading import ID_COLUMNS, UploadedList, printable
from nightshift.warehouse.schema import INGEST_SCRATCH_DATABASE

# a plain id token; written for a ClickHouse string literal (backslash doubled)
TOKEN_PATTERN_SQL = r"^[A-Za-z0-9_\\-]{1,128}$"
MAX_SLOW_PHONES = 20_000  # distinct phones outside the fast shape sent through `phonenumbers` (~100 us each)
SHOWN_UNMATCHED = 1_000  # unmatched rows kept with their details (all are counted by reason)


@dataclass(frozen=True)
class UnmatchedRow:
    line: int
    values: str  # the row's ids, normalised where they could be (`phone=+8613812345678`)
    reason: str


@dataclass
class UploadMatch:
    name: str
    rows: int
    members: list[int] = field(default_factory=list)  # distinct one_ids of the matched rows
    matched_rows: int = 0
    reason_counts: dict[str, int] = field(default_factory=dict)  # unmatched rows per reason, most first
    unmatched: list[UnmatchedRow] = field(default_factory=list)  # the first SHOWN_UNMATCHED unmatched rows, by line

    @property
    def match_rate(self) -> float:
        return self.matched_rows / self.rows if self.rows else 0.0

    @property
    def unmatched_rows(self) -> int:
        return self.rows - self.matched_rows


_TSV_SPECIAL = re.compile(r"[\\\t\n\r]")


def _tsv(value: str) -> str:
    if not _TSV_SPECIAL.search(value):
        return value  # almost every id: nothing to escape
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _id_types_sql() -> str:
    """ClickHouse: the identity map id types of an upload column (`id_column`)."""
    branches = ", ".join(f"id_column = '{column}', {list(types)!r}" for column, types in ID_COLUMNS.items())
    return f"multiIf({branches}, [])".replace('"', "'")


def identity_map_sql(run_date: date | None) -> str:
    """The map as of a run date (what that night's segments see), or the current map."""
    if run_date is None:
        return "SELECT id_type, id_value, one_id FROM identity.identity_map"
    return (
        "SELECT id_type, id_value, one_id FROM identity.identity_map_daily "
        f"WHERE run_date = toDate('{run_date.isoformat()}')"
    )


def match_upload(
    client, upload: UploadedList, run_date: date | None = None, identity_map: str | None = None
) -> UploadMatch:
    """Normalise and match every accepted row; rows the reader rejected are unmatched with its reason.

    `identity_map`: a SELECT of (id_type, id_value, one_id) to match against instead of the warehouse's map."""
    tag = uuid.uuid4().hex[:12]
    rows_table, phones_table, result_table = (
        f"{INGEST_SCRATCH_DATABASE}.upload_{tag}_{part}" for part in ("rows", "phones", "result")
    )
    client.command(f"CREATE DATABASE IF NOT EXISTS {INGEST_SCRATCH_DATABASE}")
    client.command(f"CREATE TABLE {rows_table} (line UInt32, id_column String, raw String) ENGINE = Memory")
    client.command(f"CREATE TABLE {phones_table} (raw String, e164 String) ENGINE = Memory")
    try:
        payload = "\n".join(
            f"{line}\t{column}\t{_tsv(value)}"
            for column, values in upload.values.items()
            for line, value in zip(upload.lines, values, strict=True)
            if value
        )
        if payload:
            client.raw_insert(rows_table, ["line", "id_column", "raw"], payload.encode("utf-8"), fmt="TabSeparated")
        _map_slow_phones(client, rows_table, phones_table)
        map_sql = identity_map or identity_map_sql(run_date)
        client.command(
            f"CREATE TABLE {result_table} ENGINE = Memory AS {_match_sql(rows_table, phones_table, map_sql)}"
        )
        return _result(client, upload, result_table)
    finally:
        for table in (rows_table, phones_table, result_table):
            client.command(f"DROP TABLE IF EXISTS {table}")


def _map_slow_phones(client, rows_table: str, phones_table: str) -> None:
    slow = client.query(
        f"SELECT DISTINCT raw FROM {rows_table} WHERE id_column = 'phone' AND NOT {phones.fast_shape_sql('raw')} "
        f"LIMIT {MAX_SLOW_PHONES}"
    ).result_rows
    mapped = [(raw, phones.to_e164(raw)) for (raw,) in slow]
    if mapped:
        payload = "\n".join(f"{_tsv(raw)}\t{_tsv(e164)}" for raw, e164 in mapped)
        client.raw_insert(phones_table, ["raw", "e164"], payload.encode("utf-8"), fmt="TabSeparated")


def _match_sql(rows_table: str, phones_table: str, identity_map: str) -> str:
    """One row per upload line: the people its ids lead to, its ids (column, normalised, raw) and why it did not
    match ('' when it did)."""
    phone = f"if({phones.fast_shape_sql('r.raw')}, {phones.fast_e164_sql('r.raw')}, p.e164)"
    return f"""
        WITH normalised AS (
            SELECT r.line AS line, r.id_column AS id_column, r.raw AS raw,
                multiIf(r.id_column = 'phone', {phone}, match(r.raw, '{TOKEN_PATTERN_SQL}'), r.raw, '') AS value
            FROM {rows_table} AS r
            LEFT JOIN {phones_table} AS p ON p.raw = r.raw
        ),
        candidates AS (
            SELECT line, id_column, raw, value, arrayJoin({_id_types_sql()}) AS id_type FROM normalised
        ),
        identity_map AS ({identity_map}),
        per_line AS (
            SELECT
                c.line AS line,
                arraySort(groupUniqArrayIf(m.one_id, m.one_id != 0)) AS people,
                arraySort(groupUniqArray((c.id_column, c.value, c.raw))) AS ids
            FROM candidates AS c
            LEFT JOIN identity_map AS m ON m.id_type = c.id_type AND m.id_value = c.value AND c.value != ''
            GROUP BY c.line
        )
        SELECT line, people, ids,
            multiIf(
                length(people) = 1, '',
                length(people) > 1, 'ids of different people',
                arrayAll(id -> id.2 = '', ids),
                    concat('not a valid ', arrayStringConcat(arrayDistinct(arrayMap(id -> id.1, ids)), ', ')),
                'not in the identity map'
            ) AS reason
        FROM per_line
    """


def _result(client, upload: UploadedList, result_table: str) -> UploadMatch:
    result = UploadMatch(upload.name, upload.rows)
    counts: dict[str, int] = {}
    for row in upload.rejected:
        key = row.reason.split(" (")[0] if row.reason.startswith("a value of") else row.reason
        key = "a value too long" if key.startswith("a value of") else key
        key = "wrong number of fields" if "the header has" in key else key
        counts[key] = counts.get(key, 0) + 1
    for reason, count in client.query(f"SELECT reason, count() FROM {result_table} GROUP BY reason").result_rows:
        if reason:
            counts[reason] = counts.get(reason, 0) + int(count)
        else:
            result.matched_rows = int(count)
    result.reason_counts = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    result.members = [
        int(one_id)
        for (one_id,) in client.query(
            f"SELECT DISTINCT people[1] FROM {result_table} WHERE reason = '' ORDER BY 1"
        ).result_rows
    ]
    details = client.query(
        f"SELECT line, people, ids, reason FROM {result_table} WHERE reason != '' ORDER BY line LIMIT {SHOWN_UNMATCHED}"
    ).result_rows
    unmatched = [UnmatchedRow(row.line, row.value, row.reason) for row in upload.rejected[:SHOWN_UNMATCHED]]
    for line, people, ids, reason in details:
        shown = ", ".join(f"{column}={value or printable(raw)}" for column, value, raw in ids)
        if people:
            reason = f"{reason} (one_ids {', '.join(str(one_id) for one_id in people[:5])})"
        unmatched.append(UnmatchedRow(int(line), shown, reason))
    result.unmatched = sorted(unmatched, key=lambda row: row.line)[:SHOWN_UNMATCHED]
    return result
