"""Analysts' segments: SQL definition files, validation, ClickHouse preview/diff/explain, Spark transpilation.

A segment is `segments/<name>.sql`: `-- key: value` header lines (name, owner, description, optional refresh)
and one ClickHouse SELECT over `marts.*` returning `one_id`; or `segments/<name>.yml`, the same header fields and a
rule over the tag catalogue that compiles to such a SELECT (rules.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nightshift.segments.files import SEGMENTS_DIR, SegmentError, SegmentFile, parse_segment_file
    from nightshift.segments.loading import load_segment_files
    from nightshift.segments.validate import (
        SegmentDefinition,
        ValidationReport,
        load_valid_segments,
        validate_all,
        validate_segment,
    )

# Re-exported names load their module on first use (PEP 562): validation pulls in sqlglot (~1 s to import), and
# `nightshift` commands that only need a constant from a submodule should not pay for it at start-up.
_HOMES = {
    "SEGMENTS_DIR": "files",
    "SegmentError": "files",
    "SegmentFile": "files",
    "parse_segment_file": "files",
    "load_segment_files": "loading",
    "SegmentDefinition": "validate",
    "ValidationReport": "validate",
    "load_valid_segments": "validate",
    "validate_all": "validate",
    "validate_segment": "validate",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


# Written out, not sorted(_HOMES), so that linters and type checkers read it (tests/cli/test_startup.py checks
# that the two agree).
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
