"""Analysts' segments: SQL definition files, validation, ClickHouse preview/diff/explain, Spark transpilation.

A segment is `segments/<name>.sql`: `-- key: value` header lines (name, owner, description, optional refresh)
and one ClickHouse SELECT over `marts.*` returning `one_id`; or `segments/<name>.yml`, the same header fields and a
rule over the tag catalogue that compiles to such a SELECT (rules.py).
"""

from nightshift.segments.files import (
    SEGMENTS_DIR,
    SegmentError,
    SegmentFile,
    parse_segment_file,
)
from nightshift.segments.loading import load_segment_files
from nightshift.segments.validate import (
    SegmentDefinition,
    ValidationReport,
    load_valid_segments,
    validate_all,
    validate_segment,
)

__all__ = [
    "SEGMENTS_DIR",
    "SegmentDefinition",
    "SegmentError",
    "SegmentFile",
    "ValidationReport",
    "load_segment_files",
    "load_valid_segments",
    "parse_segment_file",
    "validate_all",
    "validate_segment",
]
