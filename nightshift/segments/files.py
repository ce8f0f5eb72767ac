"""Segment definition files: `segments/<name>.sql` = `-- key: value` header lines + one ClickHouse SELECT,
or `segments/<name>.yml`, a rule over the tag catalogue compiled to such a SELECT (`rules.py`).

Parsing here is purely textual (header and body); what the SELECT may do is checked in `validate.py`.
Every problem is a `SegmentError` that names the file, line and column and says what to do.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from nightshift.errors import NightshiftError
from nightshift.segments.sampling import Sample, parse_sample, sampled_sql
from nightshift.settings import PROJECT_ROOT

SEGMENTS_DIR = PROJECT_ROOT / "segments"
HEADER_LINE = re.compile(r"^--\s*(?P<key>[A-Za-z_]+)\s*:\s*(?P<value>.*?)\s*$")
REQUIRED_HEADER_KEYS = ("name", "owner", "description")
OPTIONAL_HEADER_KEYS = ("refresh", "sample", "sample_salt")
REFRESH_VALUES = ("daily", "weekly", "monthly")
SEGMENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class SegmentError(NightshiftError):
    """A problem in one segment file, located at `path:line:column`, with a suggested fix."""

    def __init__(self, path: Path, line: int, column: int, message: str, hint: str = "") -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    @property
    def segment(self) -> str:
        return self.path.stem

    def __str__(self) -> str:
        location = f"{self.path}:{self.line}:{self.column}"
        return f"{location}: {self.message}" + (f" {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class SegmentFile:
    name: str
    path: Path
    sql: str  # the SELECT, without the header, trailing `;` and whitespace removed
    sql_first_line: int  # 1-based line of the file where `sql` starts (maps SQL positions to file positions)
    header: dict[str, str] = field(default_factory=dict)
    kind: str = "sql"  # "sql": written by an analyst; "rule": compiled from a rule file (rules.py)

    @property
    def refresh(self) -> str:
        return self.header.get("refresh", "daily")

    @property
    def sample(self) -> Sample | None:
        """The `sample:` header (N people or x%), salted with `sample_salt:` or else the segment's name."""
        if not self.header.get("sample"):
            return None
        return parse_sample(self.header["sample"], self.header.get("sample_salt") or self.name)

    @property
    def query_sql(self) -> str:
        """What runs: the SELECT narrowed to the `sample:` header's sample, when there is one."""
        sample = self.sample
        return sampled_sql(self.sql, sample) if sample else self.sql

    def error_at_offset(self, offset: int, message: str, hint: str = "") -> SegmentError:
        """A SegmentError located at a character offset of `sql` (as sqlglot reports in node metadata)."""
        line = self.sql.count("\n", 0, offset) + 1
        column = offset - (self.sql.rfind("\n", 0, offset) + 1) + 1
        return SegmentError(self.path, self.sql_first_line + line - 1, column, message, hint)

    def error_at(self, line: int, column: int, message: str, hint: str = "") -> SegmentError:
        """A SegmentError at a (1-based) line and column of `sql`."""
        return SegmentError(self.path, self.sql_first_line + line - 1, max(column, 1), message, hint)


def closest(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str | None:
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.7)
    return matches[0] if matches else None


def _check_header(path: Path, header: dict[str, tuple[int, str]]) -> None:
    allowed = REQUIRED_HEADER_KEYS + OPTIONAL_HEADER_KEYS
    for key, (line, _) in header.items():
        if key not in allowed:
            guess = closest(key, allowed)
            hint = f"Did you mean `-- {guess}:`?" if guess else f"Allowed keys: {', '.join(allowed)}."
            raise SegmentError(path, line, 4, f"unknown header key {key!r}.", hint)
    missing = [key for key in REQUIRED_HEADER_KEYS if not header.get(key, (0, ""))[1]]
    if missing:
        raise SegmentError(
            path,
            1,
            1,
            f"segment header is missing {', '.join(missing)}.",
            "Start the file with lines like `-- name: my_segment`, `-- owner: team`, `-- description: who this is`.",
        )
    name_line, name = header["name"]
    if not SEGMENT_NAME.match(name):
        raise SegmentError(
            path, name_line, 1, f"segment name {name!r} is not a lowercase identifier.", "Use letters, digits and _."
        )
    if name != path.stem:
        raise SegmentError(
            path,
            name_line,
            1,
            f"header name {name!r} does not match the file name {path.stem!r}.",
            f"Rename the file to {name}.sql or set `-- name: {path.stem}`.",
        )
    if "refresh" in header and header["refresh"][1] not in REFRESH_VALUES:
        line, value = header["refresh"]
        raise SegmentError(
            path,
            line,
            1,
            f"refresh {value!r} is not one of {', '.join(REFRESH_VALUES)}.",
            "Remove the line for the default (daily).",
        )
    if "sample" in header:
        line, value = header["sample"]
        try:
            parse_sample(value, name)
        except ValueError as error:
            raise SegmentError(
                path, line, 1, f"{error}.", "Write e.g. `-- sample: 10%` or `-- sample: 1000`."
            ) from None


def parse_segment_file(path: Path) -> SegmentFile:
    """Split a segment file into its header and its SQL body; raises SegmentError for a bad header."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header: dict[str, tuple[int, str]] = {}
    body_start = len(lines)
    for index, line in enumerate(lines):
        match = HEADER_LINE.match(line)
        if not match:
            body_start = index
            break
        key = match["key"].lower()
        if key in header:
            raise SegmentError(path, index + 1, 1, f"header key {key!r} appears twice.", "Keep one of the lines.")
        header[key] = (index + 1, match["value"])
    _check_header(path, header)
    # Keep leading blank lines in the body so sqlglot's line numbers map to file lines by a fixed offset.
    sql = "\n".join(lines[body_start:]).rstrip().rstrip(";").rstrip()
    if not sql.strip():
        raise SegmentError(
            path,
            body_start + 1,
            1,
            "the file has a header but no SELECT.",
            "Add `SELECT one_id FROM marts.user_profile WHERE ...` after the header.",
        )
    values = {key: value for key, (_, value) in header.items()}
    return SegmentFile(values["name"], path, sql, body_start + 1, values)
