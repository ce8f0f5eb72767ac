"""Segment definition files: `segments/<name>.sql` = `-- key: value` header lines + one SELECT returning one_id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nightshift.errors import NightshiftError
from nightshift.settings import PROJECT_ROOT

SEGMENTS_DIR = PROJECT_ROOT / "segments"
HEADER_LINE = re.compile(r"^--\s*(?P<key>[a-z_]+)\s*:\s*(?P<value>.*?)\s*$")
REQUIRED_HEADER_KEYS = ("name", "owner", "description")


@dataclass(frozen=True)
class SegmentFile:
    name: str
    path: Path
    sql: str  # the SELECT, without the header
    sql_first_line: int  # 1-based line of the file where the SELECT starts (for error positions)
    header: dict[str, str] = field(default_factory=dict)


def parse_segment_file(path: Path) -> SegmentFile:
    lines = path.read_text(encoding="utf-8").splitlines()
    header: dict[str, str] = {}
    body_start = 0
    for index, line in enumerate(lines):
        match = HEADER_LINE.match(line)
        if not match:
            body_start = index
            break
        header[match["key"]] = match["value"]
    else:
        body_start = len(lines)
    missing = [key for key in REQUIRED_HEADER_KEYS if not header.get(key)]
    if missing:
        raise NightshiftError(
            f"{path}:1: segment header is missing {', '.join(missing)}; start the file with lines like "
            "`-- name: my_segment`, `-- owner: team`, `-- description: who this is`"
        )
    if header["name"] != path.stem:
        raise NightshiftError(f"{path}:1: header name {header['name']!r} must match the file name {path.stem!r}")
    sql = "\n".join(lines[body_start:]).strip().rstrip(";")
    return SegmentFile(header["name"], path, sql, body_start + 1, header)


def load_segment_files(directory: Path = SEGMENTS_DIR) -> list[SegmentFile]:
    return [parse_segment_file(path) for path in sorted(directory.glob("*.sql"))]
