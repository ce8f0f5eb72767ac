"""Analysts' segments: SQL definition files, validation, ClickHouse preview/diff/explain, Spark transpilation.

A segment is `segments/<name>.sql`: `-- key: value` header lines (name, owner, description, optional refresh)
and one ClickHouse SELECT over `marts.*` returning `one_id`.
"""

from nightshift.segments.files import (
    SEGMENTS_DIR,
    SegmentError,
    SegmentFile,
    load_segment_files,
    parse_segment_file,
)
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
