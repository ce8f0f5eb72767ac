"""The columnar pieces every channel writer is built from: an audience as one pyarrow Table, and vectorised
versions of the per-row rules in `common.py` (JSON string contents, CSV fields, 11-digit mobiles, China times, send
order, batches).

Why columnar: a writer that builds each row's JSON or CSV in Python tops out near 50,000 rows a second, and a
nightly campaign can hold millions of people (issue 11 asks for a million rows a second on 2 cores). Each helper
gives exactly the text the per-row code gives (`json.dumps(..., ensure_ascii=False)`, `csv.writer` with minimal
quoting, `mainland_mobile`, `china_time`): the fast path covers the common value, and the few values it cannot
treat (a quote or control character in a JSON string, a number written with spaces) go through those same per-row
functions, so the bytes never depend on which path a value took.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightshift.deliveries.common import Row, china_time, mainland_mobile, parsed_send_at

# What a writer takes: the export stage's Arrow table, or rows as dicts (tests, small callers).
Audience = pa.Table | Sequence[Row]
# The notation most profiles hold, matched in bulk; anything else goes through `mainland_mobile` (same answer,
# per row). The alternatives have fixed lengths (11, 13, 14, 15), so the captured 11 digits are unambiguous.
PLAIN_MAINLAND_MOBILE = r"^(?:\+?86|0086)?(?P<mobile>1[0-9]{10})$"
# Bytes json.dumps escapes inside a string: control characters (below 0x20), '"' and '\\'.
JSON_CONTROL_BELOW, JSON_ESCAPED_BYTES = 0x20, b'"\\'
# Bytes that may make csv.writer quote a field (it decides; a field without any of them is written as it is).
CSV_SPECIAL_BYTES = b',"\n\r'
HOLE = re.compile(r'"\\u0001(\w+)\\u0001"|\\u0000(\w+)\\u0000')


def audience_table(audience: Audience) -> pa.Table:
    """The audience as one Table with plain string columns (Arrow's dictionary and binary strings decoded)."""
    table = audience if isinstance(audience, pa.Table) else pa.Table.from_pylist(list(audience))
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type) or column.type == pa.large_string():
            column = column.cast(pa.string())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)  # chunks are combined per column read (`text`)


def text(table: pa.Table, name: str, null: str | None = "") -> pa.StringArray:
    """Column `name` as strings, nulls as `null` (None keeps them); a column the table lacks is all `null`."""
    if name not in table.column_names:
        return pa.array([null] * table.num_rows, pa.string())
    column = table.column(name)
    values = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if values.type != pa.string():
        values = values.cast(pa.string())
    return values if null is None or values.null_count == 0 else pc.fill_null(values, null)


def row_ids(table: pa.Table) -> np.ndarray:
    return table.column("one_id").to_numpy()


def rows_holding(values: pa.StringArray, special: bytes, below: int = 0) -> np.ndarray:
    """Indices of the values holding any of the `special` bytes or a byte under `below` (one scan of the raw
    bytes, no per-row work)."""
    buffers = values.buffers()
    if len(values) == 0 or buffers[2] is None:
        return np.empty(0, np.int64)
    offsets = np.frombuffer(buffers[1], np.int32, len(values) + 1, values.offset * 4)
    ordinary = bytes(byte for byte in range(below, 256) if byte not in special)
    if not memoryview(buffers[2])[offsets[0] : offsets[-1]].tobytes().translate(None, ordinary):
        return np.empty(0, np.int64)  # the usual case, found by one pass in C
    data = np.frombuffer(buffers[2], np.uint8)[offsets[0] : offsets[-1]]
    found = data < below
    for byte in special:
        found |= data == byte
    hits = np.flatnonzero(found) + offsets[0]
    return np.unique(np.searchsorted(offsets, hits, side="right") - 1)


def _replaced(
    values: pa.StringArray, rows: np.ndarray, rule: Callable, source: pa.Array | None = None
) -> pa.StringArray:
    """`values` with the values at `rows` replaced by `rule` of the `source` value there (default: the value
    itself); `rule` is the per-row function the fast path stands for."""
    if not rows.size:
        return values
    mask = np.zeros(len(values), bool)
    mask[rows] = True
    originals = (values if source is None else source).take(rows).to_pylist()
    return pc.replace_with_mask(values, pa.array(mask), pa.array([rule(value) for value in originals], pa.string()))


def json_escaped(value: str) -> str:
    """What json.dumps(value, ensure_ascii=False) writes between the quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def json_contents(values: pa.StringArray, depth: int = 1) -> pa.StringArray:
    """`json_escaped` of every value, `depth` times (2 for a string inside JSON text that is itself a JSON string,
    such as Aliyun's `TemplateParamJson`). Escaping maps each character on its own, so escaping the pieces of a
    text one by one gives the escaped text."""

    def escaped(value: str) -> str:
        for _ in range(depth):
            value = json_escaped(value)
        return value

    return _replaced(values, rows_holding(values, JSON_ESCAPED_BYTES, JSON_CONTROL_BELOW), escaped)


def csv_field(value: str) -> str:
    """The field as csv.writer (minimal quoting) writes it in a row of several fields."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([value, ""])
    return buffer.getvalue()[:-2]


def csv_fields(values: pa.StringArray) -> pa.StringArray:
    return _replaced(values, rows_holding(values, CSV_SPECIAL_BYTES), csv_field)


def mainland_mobiles(values: pa.StringArray) -> pa.StringArray:
    """`mainland_mobile` of every value: the 11 digits, null when the value is not a mainland mobile number."""
    plain = pc.struct_field(pc.extract_regex(values, PLAIN_MAINLAND_MOBILE), [0])
    others = np.flatnonzero(pc.and_(pc.is_null(plain), pc.is_valid(values)).to_numpy(zero_copy_only=False))
    return _replaced(plain, others, mainland_mobile, source=values)


def china_times(send_at: pa.StringArray | pa.DictionaryArray) -> pa.StringArray:
    """Each send_at (UTC text from the export) as Asia/Shanghai wall-clock text; a campaign has a handful of send
    times, so each distinct one is converted once."""
    encoded = send_at if pa.types.is_dictionary(send_at.type) else pc.dictionary_encode(send_at)
    local = [china_time(parsed_send_at(value)) for value in encoded.dictionary.to_pylist()]
    return pa.array(local, pa.string()).take(encoded.indices)


def ranks(values: pa.StringArray | pa.DictionaryArray) -> np.ndarray:
    """Each value's place among the distinct values in Python's string order (which is UTF-8 byte order)."""
    encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    place = np.empty(len(distinct), np.int64)
    place[sorted(range(len(distinct)), key=distinct.__getitem__)] = np.arange(len(distinct))
    dtype = np.uint16 if len(distinct) <= np.iinfo(np.uint16).max else np.int64  # small codes sort by radix
    return place.astype(dtype)[encoded.indices.to_numpy(zero_copy_only=False)]


def sort_order(keys: Sequence[np.ndarray], one_ids: np.ndarray) -> np.ndarray:
    """Row indices sorted by the keys (`ranks`), then one_id; ties keep their input order, as Python's sorted() on
    (key..., int(one_id)) does. `one_ids` usually arrive sorted (the export orders by one_id): a stable sort of
    sorted input is one pass."""
    order = np.argsort(one_ids, kind="stable")
    for key in reversed(keys):
        order = order[np.argsort(key[order], kind="stable")]
    return order


def batch_offsets(keys: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Offsets of consecutive batches of at most `size` rows over rows sorted by `keys`, never mixing two keys."""
    count = len(keys[0]) if keys else 0
    changes = np.zeros(max(count - 1, 0), bool)
    for key in keys:
        changes |= key[1:] != key[:-1]
    starts = [0, *(np.flatnonzero(changes) + 1).tolist()] if count else []
    offsets = [
        offset for start, end in zip(starts, [*starts[1:], count], strict=True) for offset in range(start, end, size)
    ]
    return np.array([*offsets, count], np.int32)


def joined(values: pa.Array, offsets: np.ndarray, separator: str | bytes) -> pa.Array:
    """The values of each batch (`batch_offsets`) joined by `separator`."""
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values), separator)


def rendered(pieces: Sequence[str], holes: Sequence[pa.StringArray | str], rows: int) -> pa.StringArray:
    """pieces[0] + holes[0] + pieces[1] + ... + pieces[-1], row by row."""
    if not any(isinstance(hole, pa.Array) for hole in holes):
        whole = "".join(piece + hole for piece, hole in zip(pieces, [*holes, ""], strict=True))
        return pa.array([whole] * rows, pa.string())
    parts = [part for piece, hole in zip(pieces[:-1], holes, strict=True) for part in (piece, hole)] + [pieces[-1]]
    return pc.binary_join_element_wise(*parts, "")


def rendered_parts(
    rows: int, per_part: int, render: Callable[[int, int], pa.StringArray], header: str = ""
) -> list[bytes]:
    """`text_parts` of lines rendered part by part: `render(offset, length)` gives the lines of rows
    [offset, offset + length). Parts are rendered on a thread per core (Arrow's kernels release the GIL), so a
    writer whose lines are independent row by row uses every core."""

    def part(offset: int) -> bytes:
        return text_parts(render(offset, min(per_part, rows - offset)), per_part, header)[0]

    return in_parallel([partial(part, offset) for offset in range(0, rows, per_part)])


def in_parallel(tasks: Sequence[Callable[[], bytes]]) -> list[bytes]:
    """The tasks' results in order, run on a thread per core: Arrow's kernels release the GIL."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(lambda task: task(), tasks))


def text_parts(lines: pa.StringArray, per_part: int, header: str = "") -> list[bytes]:
    """Parts of at most `per_part` lines (each already ended by its newline), each after `header`, in UTF-8. The
    lines of a part lie back to back in the array's data buffer: a part is that stretch of bytes, copied once."""
    buffers = lines.buffers()
    if not len(lines) or buffers[2] is None:
        return []
    offsets = np.frombuffer(buffers[1], np.int32, len(lines) + 1, lines.offset * 4)
    data = memoryview(buffers[2])
    bounds = offsets[[*range(0, len(lines), per_part), len(lines)]].tolist()
    return [b"".join((header.encode(), data[start:end])) for start, end in zip(bounds, bounds[1:], strict=False)]


def string_hole(name: str) -> str:
    """A placeholder for a JSON string in a `json_template` document: the caller fills in its escaped contents."""
    return f"\x00{name}\x00"


def raw_hole(name: str) -> str:
    """A placeholder for any JSON value in a `json_template` document: the caller fills in its JSON text."""
    return f"\x01{name}\x01"


def json_template(document: object) -> tuple[list[str], list[str]]:
    """The document as our JSON (sorted keys, no spaces, ensure_ascii=False), split at its holes: (pieces, names),
    one more piece than names, so that pieces[0] + hole(names[0]) + pieces[1] + ... is the document's JSON."""
    parts = HOLE.split(json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    pieces, names = parts[0::3], [raw or string for raw, string in zip(parts[1::3], parts[2::3], strict=True)]
    return pieces, names
