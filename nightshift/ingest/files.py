"""Landing files: which files of a day belong to which entity, their checksums, encodings and lines.

Only work that needs Python happens here: hashing, encoding detection and, for CSV, whitespace-separated or
non-UTF-8 files, splitting each physical line into a JSON record. UTF-8 JSON-lines files are not touched line
by line; their bytes go to ClickHouse as they are (see `nightshift.ingest.load`).
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from nightshift.sources.model import Entity, Source

BOM = codecs.BOM_UTF8
# Encodings tried when an entity does not force one, in order of preference on a tie.
CANDIDATE_ENCODINGS = ("utf-8", "gbk")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # path relative to the landing root, as stored in `_source_file`
    sha256: str
    size: int


@dataclass
class ParsedLines:
    """Columns for the batch lines table, built in Python (CSV, whitespace, non-UTF-8 files)."""

    line_numbers: list[int]
    raw_lines: list[str]
    records: list[str]  # JSON object text ('' when the line could not be split)
    parse_errors: list[str]  # '' or a quarantine reason code
    parse_details: list[str]  # the message for a person when parse_errors is set
    blank_lines: int = 0


def day_dir(landing_root: Path, source: str, day: date) -> Path:
    return landing_root / source / day.isoformat()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_day_files(landing_root: Path, source: str, day: date) -> list[LandingFile]:
    """Every regular file of a source's day directory, sorted by name (the order of loading and of dedup)."""
    directory = day_dir(landing_root, source, day)
    if not directory.is_dir():
        return []
    files = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        files.append(
            LandingFile(
                path=path,
                relative=path.relative_to(landing_root).as_posix(),
                sha256=sha256_of(path),
                size=path.stat().st_size,
            )
        )
    return files


def entity_for(source: Source, file_name: str) -> Entity | None:
    """The entity whose `file_glob` claims this file name (first declared wins), or None."""
    for entity in source.entities:
        if fnmatch.fnmatchcase(file_name, entity.file_glob):
            return entity
    return None


def detect_encoding(data: bytes, declared: str | None) -> str:
    """`utf-8` or `gbk` (the Python codec to read the file with); a UTF-8 BOM always means UTF-8.

    A file that decodes cleanly in the declared encoding (or, without one, in UTF-8 then GBK) uses it. A file
    with broken bytes uses the candidate that breaks the fewest lines, so only those lines get quarantined.
    """
    return decode_whole(data, declared)[0]


def decode_whole(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """(`detect_encoding`'s answer, the whole file as text when detecting it meant decoding it cleanly, else
    None): a caller that needs the text does not decode the file a second time."""
    if data.startswith(BOM) or data.isascii():
        return "utf-8", None
    preferred = _codec_name(declared)
    candidates = ([preferred] if preferred else []) + [c for c in CANDIDATE_ENCODINGS if c != preferred]
    for candidate in candidates:
        try:
            return candidate, data.decode(candidate)
        except UnicodeDecodeError:
            continue
    lines = data.split(b"\n")
    return min(candidates, key=lambda candidate: _undecodable_lines(lines, candidate)), None


def _codec_name(declared: str | None) -> str | None:
    if not declared:
        return None
    name = codecs.lookup(declared).name
    # utf-8-sig only differs by the BOM, which is handled before decoding.
    return "utf-8" if name in ("utf-8", "utf-8-sig", "ascii") else name


def _undecodable_lines(lines: list[bytes], encoding: str) -> int:
    broken = 0
    for line in lines:
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            broken += 1
    return broken


def strip_bom(data: bytes) -> bytes:
    return data[len(BOM) :] if data.startswith(BOM) else data


def _decoded_lines(data: bytes, encoding: str):
    """(line_number, text, error) for each physical line; undecodable lines keep a readable copy."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another one
    for number, raw in enumerate(lines, start=1):
        raw = raw.removesuffix(b"\r")
        try:
            yield number, raw.decode(encoding), ""
        except UnicodeDecodeError as error:
            text = raw.decode(encoding, errors="replace")
            detail = (
                f"bytes {raw[error.start : error.end].hex(' ')} at byte {error.start} are not valid {encoding} "
                f"(the file was read as {encoding}); re-export the file in UTF-8 (or GBK) and deliver it again"
            )
            yield number, text, detail


def parse_lines(data: bytes, entity: Entity, encoding: str) -> ParsedLines:
    """Split a file into physical lines and, for CSV/whitespace files, into JSON records keyed by column name.

    JSON-lines files only get decoded here (non-UTF-8 encodings); their record is the line itself.
    """
    data = strip_bom(data)
    parsed = ParsedLines([], [], [], [], [])
    columns: list[str] | None = (
        None if entity.format == "csv" and entity.has_header else [f.name for f in entity.fields]
    )
    for number, text, decode_error in _decoded_lines(data, encoding):
        if number == 1 and entity.format != "jsonl" and entity.has_header:
            if entity.format == "csv" and not decode_error:
                columns = [name.strip() for name in _split_csv(text, entity.delimiter)[0] or []]
            continue
        if not text.strip():
            parsed.blank_lines += 1
            continue
        record, error, detail = "", "", ""
        if decode_error:
            error, detail = "undecodable_bytes", decode_error
        elif entity.format == "jsonl":
            record = text
        else:
            record, detail = _record_from_columns(text, entity, columns)
            error = "malformed_csv" if detail else ""
        parsed.line_numbers.append(number)
        parsed.raw_lines.append(text)
        parsed.records.append(record)
        parsed.parse_errors.append(error)
        parsed.parse_details.append(detail)
    return parsed


def _split_csv(text: str, delimiter: str) -> tuple[list[str] | None, str]:
    if '"' not in text:
        return text.split(delimiter), ""
    try:
        return next(csv.reader([text], delimiter=delimiter, strict=True)), ""
    except csv.Error as error:
        return None, f"broken quoting ({error})"


CSV_FIX = "fix the export's quoting and delimiters and deliver the file again"


def columns_mismatch(found: str, columns: list[str]) -> str:
    """Why a CSV line was not loaded, `found` being its number of columns (text: the engine path passes SQL)."""
    return f"line has {found} columns but the header declares {len(columns)} ({', '.join(columns)}); {CSV_FIX}"


def _record_from_columns(text: str, entity: Entity, columns: list[str] | None) -> tuple[str, str]:
    """(JSON object text, '') or ('', why the line cannot be split into the declared columns)."""
    fix = CSV_FIX
    if columns is None:
        return "", f"the file's header line could not be read, so no line can be matched to columns; {fix}"
    if entity.format == "whitespace":
        values = text.split()
    else:
        values, problem = _split_csv(text, entity.delimiter)
        if values is None:
            return "", f"line has {problem}; {fix}"
    if len(values) != len(columns):
        return "", columns_mismatch(str(len(values)), columns)
    return json.dumps(dict(zip(columns, values, strict=True)), ensure_ascii=False), ""
