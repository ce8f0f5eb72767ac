"""Dirt injection: each dirty record carries exactly one kind of dirt, recorded in the ground truth.

Quarantine-class dirt (malformed lines, wrong types, missing ids, invalid phones, undecodable bytes) and
exact duplicates are written as EXTRA lines right after the clean record they were made from, so every
clean record still arrives once and the identity truth stays exact. Handled dirt that is still loaded
(late events, schema drift) modifies the record in place. Undecodable bytes are carried as lone surrogates
and become raw 0xFF bytes when the file is encoded with `errors="surrogateescape"` (0xFF is invalid in
UTF-8 and in GBK alike).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import phonenumbers
import pyarrow as pa

from nightshift.generate.table import Column, EncodedTable, encode_values
from nightshift.sources.model import HANDLED_DIRT, QUARANTINE_REASONS

DIRT_KINDS = tuple(QUARANTINE_REASONS) + tuple(HANDLED_DIRT)
IN_PLACE = ("late_event", "schema_drift")
UNDECODABLE = "\udcff"  # encodes to the byte 0xFF under surrogateescape
# Values that cannot be read as the declared type, and are not any source's null marker.
WRONG_VALUES = {"int": "unknown", "float": "n/a-value", "bool": "maybe", "timestamp": "yesterday", "amount_fen": "free"}
WRONG_TYPE_FIELDS = tuple(WRONG_VALUES)
DRIFT_FIELDS = ('"ab_group":"B"', '"trace_id":"5f0c2a7e9b1d4c3a"', '"ext_info":{"sdk":"3.2.1","from":"h5"}')


@dataclass(frozen=True)
class DirtyLine:
    line_number: int  # physical, 1-based (CSV header is line 1)
    reason_code: str


def invalid_phone(rng: np.random.Generator) -> str:
    """An 11-digit string that `phonenumbers` parses but rejects as a CN number (no 12x mobile range exists)."""
    while True:
        candidate = f"12{rng.integers(0, 10**9):09d}"
        try:
            parsed = phonenumbers.parse(candidate, "CN")
        except phonenumbers.NumberParseException:
            continue  # keep only numbers that parse, so the dirt is "invalid", not "unreadable"
        if not phonenumbers.is_valid_number(parsed):
            return candidate


def applicable_kinds(encoded: EncodedTable) -> list[str]:
    entity = encoded.table.entity
    kinds = ["missing_required", "wrong_type", "undecodable_bytes", "duplicate_record"]
    kinds.append("malformed_json" if encoded.fmt == "jsonl" else "malformed_csv")
    if any(f.type == "phone" for f in entity.fields):
        kinds.append("invalid_phone")
    if encoded.fmt == "jsonl":
        kinds.append("schema_drift")  # a CSV export cannot grow a column for one row
    if entity.event_time_field:
        kinds.append("late_event")
    return kinds


def _quote(encoded: EncodedTable, value: str) -> str:
    return f'"{value}"' if encoded.fmt == "jsonl" else value


def _dirty_line(encoded: EncodedTable, row: int, kind: str, rng: np.random.Generator) -> str | None:
    """The line of record `row` with one kind of dirt, or None if this record cannot carry that kind."""
    entity = encoded.table.entity
    texts = encoded.field_texts(row)
    clean = encoded.assemble(texts)
    if kind == "duplicate_record":
        return clean
    if kind == "malformed_json":
        return clean[: max(1, int(len(clean) * rng.uniform(0.3, 0.8)))]
    if kind == "malformed_csv":
        return clean.rsplit(",", 1)[0]
    if kind == "missing_required":
        name = [f.name for f in entity.fields if f.required][rng.integers(0, sum(f.required for f in entity.fields))]
        if encoded.fmt == "jsonl":
            texts.pop(name)
        else:
            texts[name] = ""
        return encoded.assemble(texts)
    if kind == "wrong_type":
        typed = [f for f in entity.fields if f.required and f.type in WRONG_TYPE_FIELDS]
        if not typed:
            return None
        spec = typed[rng.integers(0, len(typed))]
        texts[spec.name] = _quote(encoded, WRONG_VALUES[spec.type])
        return encoded.assemble(texts)
    if kind == "invalid_phone":
        present = [f.name for f in entity.fields if f.type == "phone" and f.name in texts]
        if not present:
            return None
        texts[present[0]] = _quote(encoded, invalid_phone(rng))
        return encoded.assemble(texts)
    if kind == "undecodable_bytes":
        strings = [f.name for f in entity.fields if f.required and encoded.table.columns[f.name].kind == "str"]
        if not strings:
            return None
        name = strings[rng.integers(0, len(strings))]
        value = texts[name]
        cut = 1 if encoded.fmt == "jsonl" else 0  # keep the JSON quote in front
        texts[name] = value[:cut] + UNDECODABLE + value[cut:]
        return encoded.assemble(texts)
    if kind == "schema_drift":
        return clean[:-1] + "," + DRIFT_FIELDS[rng.integers(0, len(DRIFT_FIELDS))] + "}"
    if kind == "late_event":
        name = entity.event_time_field
        assert name is not None
        column = encoded.table.columns[name]
        per_day = 86400 * (1000 if column.kind == "iso_ms" else 1)
        shifted = int(np.asarray(column.values)[row]) - int(rng.integers(1, 4)) * per_day
        texts[name] = encode_values(Column(np.array([shifted]), column.kind), encoded.fmt)[0].as_py()
        return encoded.assemble(texts)
    raise ValueError(f"unknown dirt kind {kind!r}")


def inject(encoded: EncodedTable, dirt_rate: float, rng: np.random.Generator) -> tuple[pa.Array, list[DirtyLine]]:
    """The file's lines (UTF-8 bytes, no header, no newlines) with dirt injected, and the dirty lines' truth.

    Lines stay in one arrow array; the few dirty variants are appended and put in place with one `take`.
    """
    lines = encoded.lines
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # large_binary: 64-bit offsets, so a day file may exceed 2 GB at very large scale.
    clean = lines.cast(pa.large_binary())
    n = len(clean)
    if n == 0 or dirt_rate <= 0:
        return clean, []
    kinds = applicable_kinds(encoded)
    # At least one dirty record per non-empty file, kinds in rotation from a random start: small worlds
    # then still show every kind, large ones get dirt_rate.
    count = min(n, max(1, int(rng.binomial(n, dirt_rate))))
    rows = np.sort(rng.choice(n, size=count, replace=False))
    offset = int(rng.integers(0, len(kinds)))
    chosen = [kinds[(offset + j) % len(kinds)] for j in rng.permutation(count)]
    extra: list[bytes] = []
    extra_kinds: list[str] = []
    replaced_rows: list[int] = []
    replaced_with: list[int] = []
    inserted_after: list[int] = []
    inserted: list[int] = []
    for row, kind in zip(rows.tolist(), chosen, strict=True):
        line = _dirty_line(encoded, row, kind, rng)
        if line is None:
            continue
        slot = n + len(extra)
        extra.append(line.encode("utf-8", errors="surrogateescape"))
        extra_kinds.append(kind)
        if kind in IN_PLACE:
            replaced_rows.append(row)
            replaced_with.append(slot)
        else:
            inserted_after.append(row)
            inserted.append(slot)
    order = np.arange(n, dtype=np.int64)
    order[replaced_rows] = replaced_with
    order = np.insert(order, np.asarray(inserted_after, dtype=np.int64) + 1, np.asarray(inserted, dtype=np.int64))
    lines = pa.concat_arrays([clean, pa.array(extra, type=pa.large_binary())]).take(pa.array(order))
    header_lines = 1 if encoded.header is not None else 0
    positions = np.flatnonzero(order >= n)
    truth = [
        DirtyLine(int(position) + 1 + header_lines, extra_kinds[int(order[position]) - n]) for position in positions
    ]
    return lines, truth
