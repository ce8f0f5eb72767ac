"""Columnar records and their vectorised encoding into JSON lines or CSV rows.

A `Table` is one day's records of one catalog entity, held as columns (numpy or pyarrow arrays). Encoding
turns every column into the text of its values once, with pyarrow compute kernels, so writing a million
records costs a handful of array operations rather than a million Python calls. The same per-field value
texts are reused by the dirt injector to build the few corrupted variants of a record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightshift.sources.model import Entity

BEIJING_OFFSET_SECONDS = 8 * 3600

# How a column's values are spelled in the file. Times are held as epoch seconds (or milliseconds for
# "iso_ms") and spelled in the source's convention.
ColumnKind = Literal["str", "int", "bool", "epoch", "iso", "iso_ms", "str_list", "int_list"]

_UNSAFE_JSON = r'["\\\x00-\x1f]'
_UNSAFE_CSV = r'[",\r\n]'


@dataclass
class Column:
    """One field's values. `valid` False means the field is absent (JSON) or empty (CSV) in that record.

    List kinds hold a 2-D array (row x slot) plus `counts`, the number of slots used per row.
    `owner` gives the person an identifier belongs to when it is not the row's person (an inviter's id).
    """

    values: np.ndarray | pa.Array
    kind: ColumnKind = "str"
    valid: np.ndarray | None = None
    counts: np.ndarray | None = None
    owner: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Column:
        values = self.values.take(pa.array(index)) if isinstance(self.values, pa.Array) else self.values[index]
        return Column(
            values=values,
            kind=self.kind,
            valid=None if self.valid is None else self.valid[index],
            counts=None if self.counts is None else self.counts[index],
            owner=None if self.owner is None else self.owner[index],
        )


@dataclass
class Table:
    """One day's records of one entity; `person` is the simulated person behind each record."""

    entity: Entity
    person: np.ndarray
    columns: dict[str, Column] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.person)

    def __post_init__(self) -> None:
        declared = [f.name for f in self.entity.fields]
        unknown = [name for name in self.columns if name not in declared]
        if unknown:
            raise ValueError(f"{self.entity.raw_table}: generator built undeclared fields {unknown}")
        for spec in self.entity.fields:
            if not spec.required:
                continue
            column = self.columns.get(spec.name)
            if column is None or (column.valid is not None and not column.valid.all()):
                raise ValueError(f"{self.entity.raw_table}: required field {spec.name!r} is not always filled")
        # Keep declaration order so the files read like the platform's documentation.
        self.columns = {name: self.columns[name] for name in declared if name in self.columns}

    def take(self, index: np.ndarray) -> Table:
        return Table(self.entity, self.person[index], {k: c.take(index) for k, c in self.columns.items()})

    def sort_by(self, name: str) -> Table:
        return self.take(np.argsort(np.asarray(self.columns[name].values), kind="stable"))


def as_string_array(values: np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """UTF-8 text of a string column (numpy bytes/str arrays or pyarrow arrays)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if pa.types.is_string(values.type) else values.cast(pa.string())
    array = pa.array(values)
    return array if pa.types.is_string(array.type) else array.cast(pa.string())


def _quoted_json(text: pa.Array) -> pa.Array:
    # Values are ids, numbers-as-text and pool text checked by `check_safe_text`, so no escaping is needed.
    return pc.binary_join_element_wise('"', text, '"', "")


def check_safe_text(values: list[str], where: str) -> None:
    """Refuse text that would need escaping in JSON or quoting in CSV (the encoders do neither, for speed)."""
    for value in values:
        if re.search(_UNSAFE_JSON, value) or re.search(_UNSAFE_CSV, value):
            raise ValueError(f"{where}: {value!r} contains a quote, comma, backslash or control character")


def _digits(matrix: np.ndarray, column: int, value: np.ndarray, width: int) -> None:
    for position in range(width - 1, -1, -1):
        matrix[:, column + position] = 48 + value % 10
        value = value // 10


def _iso(values: np.ndarray, unit: Literal["s", "ms"]) -> pa.Array:
    """YYYY-MM-DDTHH:MM:SS[.mmm]+08:00 built digit by digit in a byte matrix (arrow's strftime is slow)."""
    raw = np.asarray(values, dtype=np.int64)
    millis = raw % 1000 if unit == "ms" else None
    seconds = (raw // 1000 if unit == "ms" else raw) + BEIJING_OFFSET_SECONDS
    days = (seconds // 86400).astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    second_of_day = seconds % 86400
    width = 29 if unit == "ms" else 25
    matrix = np.empty((len(raw), width), dtype=np.uint8)
    _digits(matrix, 0, years.astype(np.int64) + 1970, 4)
    _digits(matrix, 5, (months - years).astype(np.int64) + 1, 2)
    _digits(matrix, 8, (days - months).astype(np.int64) + 1, 2)
    _digits(matrix, 11, second_of_day // 3600, 2)
    _digits(matrix, 14, second_of_day // 60 % 60, 2)
    _digits(matrix, 17, second_of_day % 60, 2)
    matrix[:, [4, 7]] = ord("-")
    matrix[:, 10] = ord("T")
    matrix[:, [13, 16]] = ord(":")
    if millis is not None:
        matrix[:, 19] = ord(".")
        _digits(matrix, 20, millis, 3)
    matrix[:, width - 6 :] = np.frombuffer(b"+08:00", dtype=np.uint8)
    return pa.array(np.ascontiguousarray(matrix).view(f"S{width}").ravel()).cast(pa.string())


def encode_values(column: Column, fmt: Literal["jsonl", "csv"]) -> pa.Array:
    """Text of every value of a column as it appears in the file (JSON literal or CSV cell, unescaped)."""
    kind = column.kind
    if kind == "str":
        text = as_string_array(column.values)
        return _quoted_json(text) if fmt == "jsonl" else text
    if kind in ("int", "epoch"):
        return pc.cast(pa.array(np.asarray(column.values, dtype=np.int64)), pa.string())
    if kind == "bool":
        flags = pa.array(np.asarray(column.values, dtype=bool))
        return pc.if_else(flags, "true", "false")
    if kind in ("iso", "iso_ms"):
        text = _iso(column.values, "ms" if kind == "iso_ms" else "s")
        return pc.binary_join_element_wise('"', text, '"', "") if fmt == "jsonl" else text
    if kind in ("str_list", "int_list"):
        if fmt != "jsonl":
            raise ValueError("list columns exist only in JSON sources")
        matrix = column.values
        counts = np.asarray(column.counts)
        parts: list[pa.Array] = []
        for slot in range(matrix.shape[1]):
            if kind == "str_list":
                item = _quoted_json(as_string_array(matrix[:, slot]))
            else:
                item = pc.cast(pa.array(matrix[:, slot].astype(np.int64)), pa.string())
            if slot:
                item = pc.binary_join_element_wise(",", item, "")
            parts.append(pc.if_else(pa.array(counts > slot), item, ""))
        if not parts:
            return pa.array(["[]"] * len(counts), type=pa.string())
        return pc.binary_join_element_wise("[", *parts, "]", "")
    raise ValueError(f"unknown column kind {kind!r}")


@dataclass
class EncodedTable:
    """Per-field value texts of a table, plus the assembled lines."""

    table: Table
    fmt: Literal["jsonl", "csv"]
    texts: dict[str, pa.Array]
    header: str | None
    lines: pa.Array

    def field_texts(self, row: int) -> dict[str, str]:
        """Present fields of one record with their value texts, in declaration order."""
        out: dict[str, str] = {}
        for name, column in self.table.columns.items():
            if column.valid is None or column.valid[row]:
                out[name] = self.texts[name][row].as_py()
        return out

    def assemble(self, fields: dict[str, str]) -> str:
        """One line from value texts: a JSON object, or a CSV row in the header's column order."""
        if self.fmt == "jsonl":
            return "{" + ",".join(f'"{name}":{text}' for name, text in fields.items()) + "}"
        return ",".join(fields.get(spec.name, "") for spec in self.table.entity.fields)


def encode_table(table: Table) -> EncodedTable:
    """Encode a table into the lines of its entity's file format (CSV: every declared field is a column)."""
    entity = table.entity
    fmt: Literal["jsonl", "csv"] = "csv" if entity.format == "csv" else "jsonl"
    texts = {name: encode_values(column, fmt) for name, column in table.columns.items()}
    n = len(table)
    if n == 0:
        empty = pa.array([], type=pa.string())
        header = ",".join(f.name for f in entity.fields) if fmt == "csv" else None
        return EncodedTable(table, fmt, texts, header, empty)
    if fmt == "jsonl":
        parts: list[pa.Array] = []
        for position, (name, column) in enumerate(table.columns.items()):
            prefix = ("{" if position == 0 else ",") + f'"{name}":'
            part = pc.binary_join_element_wise(prefix, texts[name], "")
            if column.valid is not None:
                if position == 0:
                    raise ValueError(f"{entity.raw_table}: the first field {name!r} must always be present")
                part = pc.if_else(pa.array(column.valid), part, "")
            parts.append(part)
        lines = pc.binary_join_element_wise(*parts, "}", "")
        return EncodedTable(table, fmt, texts, None, lines)
    cells: list[pa.Array | str] = []
    for spec in entity.fields:
        column = table.columns.get(spec.name)
        if column is None:
            cells.append("")
        elif column.valid is None:
            cells.append(texts[spec.name])
        else:
            cells.append(pc.if_else(pa.array(column.valid), texts[spec.name], ""))
    if all(isinstance(cell, str) for cell in cells):
        lines = pa.array([",".join(cells)] * n, type=pa.string())  # type: ignore[arg-type]
    else:
        lines = pc.binary_join_element_wise(*cells, ",")
    header = ",".join(f.name for f in entity.fields)
    return EncodedTable(table, fmt, texts, header, lines)


def file_chunks(lines: pa.Array, header: str | None, encoding: str) -> list[bytes | memoryview]:
    """The whole file as byte chunks: header and lines (UTF-8, without newlines), newline-terminated, in the
    entity's encoding. The world generator and the responder write every landing file through this."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    lines = lines.cast(pa.large_binary())
    if encoding in ("utf-8", "utf-8-sig"):
        head = ("\ufeff" if encoding == "utf-8-sig" else "") + (header + "\n" if header is not None else "")
        if len(lines) == 0:
            return [head.encode()]
        newline = pa.scalar(b"\n", pa.large_binary())
        joined = pc.binary_join_element_wise(lines, newline, pa.scalar(b"", pa.large_binary()))
        _, offsets, data = joined.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int64)[[joined.offset, joined.offset + len(joined)]]
        return [head.encode(), memoryview(data)[int(bounds[0]) : int(bounds[1])]]
    # Other encodings (GBK): transcode line by line; such vendor files are small.
    text = "".join(line.decode("utf-8", errors="surrogateescape") + "\n" for line in lines.to_pylist())
    return [((header + "\n" if header is not None else "") + text).encode(encoding, errors="surrogateescape")]
