"""The lake: Parquet files that stages exchange, at NIGHTSHIFT_LAKE (local directory or fsspec URL).

Layout: `<lake>/<dataset>/run_date=<YYYY-MM-DD>/part-*.parquet`, one directory per dataset and run date,
so a re-run replaces exactly its own partition. Moving data between ClickHouse and the lake is one function
each way; both let ClickHouse's native Parquet writer and reader do the work (the client only streams
bytes), so the same code serves the embedded engine and a server, and a local lake as well as s3://.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class LakeTransfer:
    path: str
    rows: int
    files: int


def dataset_path(lake_root: str, dataset: str, run_date: date | None = None) -> str:
    """Where a dataset (optionally one run date's partition of it) lives in the lake."""
    base = f"{lake_root.rstrip('/')}/{dataset}"
    return f"{base}/run_date={run_date.isoformat()}" if run_date else base


def dataset_exists(path: str) -> bool:
    """Whether a dataset (or one run date's partition of it) has been written to the lake."""
    fs, fs_path = fsspec.core.url_to_fs(path)
    return fs.exists(fs_path)


def _parquet_files(fs, path: str) -> list[str]:
    if fs.isfile(path):
        return [path]
    return sorted(p for p in fs.find(path) if p.endswith(".parquet"))


def table_to_lake(client, query: str, dest: str, parameters: dict | None = None) -> LakeTransfer:
    """Write the result of `query` (or a bare table name) as Parquet to `dest`, replacing what was there."""
    sql = query if " " in query.strip() else f"SELECT * FROM {query}"
    fs, fs_path = fsspec.core.url_to_fs(dest)
    if fs.exists(fs_path):
        fs.rm(fs_path, recursive=True)
    fs.makedirs(fs_path, exist_ok=True)
    part_path = f"{fs_path}/part-00000.parquet"
    with client.raw_stream(sql, parameters=parameters, fmt="Parquet") as stream, fs.open(part_path, "wb") as out:
        for chunk in stream:
            out.write(chunk)
    with fs.open(part_path, "rb") as written:
        rows = pq.ParquetFile(written).metadata.num_rows
    return LakeTransfer(path=dest, rows=rows, files=1)


def lake_to_table(client, source: str, table: str) -> LakeTransfer:
    """Insert every Parquet file under `source` into `table` (columns matched by name).

    The caller decides what to replace first (for example by dropping the run date's partition), which keeps
    this function a pure append and the idempotency rule visible where the partition is known.
    """
    fs, fs_path = fsspec.core.url_to_fs(source)
    files = _parquet_files(fs, fs_path) if fs.exists(fs_path) else []
    rows = 0
    for file_path in files:
        with fs.open(file_path, "rb") as handle:
            payload = handle.read()
        parquet = pq.ParquetFile(pa.BufferReader(payload))
        rows += parquet.metadata.num_rows
        column_names = parquet.schema_arrow.names
        client.raw_insert(table, column_names=column_names, insert_block=payload, fmt="Parquet")
    return LakeTransfer(path=source, rows=rows, files=len(files))
