"""Which files in a segments directory are segments, and how each kind is read.

`*.sql`: an analyst's SELECT (`files.py`); `*.yml` except policy.yml: a rule over the tag catalogue compiled to
such a SELECT (`rules.py`). Both become a `SegmentFile`, so everything downstream treats them alike.
"""

from __future__ import annotations

from pathlib import Path

from nightshift.segments.files import SEGMENTS_DIR, SegmentFile, parse_segment_file
from nightshift.segments.rules import RESERVED_FILES, RULE_SUFFIX, parse_rule_file


def segment_paths(directory: Path = SEGMENTS_DIR) -> list[Path]:
    """Every segment file of `directory`: `*.sql` and rule files `*.yml` (not policy.yml), sorted by name."""
    directory = Path(directory)
    rules = [path for path in directory.glob(f"*{RULE_SUFFIX}") if path.name not in RESERVED_FILES]
    return sorted([*directory.glob("*.sql"), *rules], key=lambda path: (path.stem, path.suffix))


def parse_any_segment_file(path: Path) -> SegmentFile:
    """A SQL segment file, or a rule file compiled to its SQL; raises SegmentError."""
    return parse_rule_file(path) if Path(path).suffix == RULE_SUFFIX else parse_segment_file(path)


def load_segment_files(directory: Path = SEGMENTS_DIR) -> list[SegmentFile]:
    """Parse every segment file in `directory` (raises on the first bad one; see `validate_all` to collect)."""
    return [parse_any_segment_file(path) for path in segment_paths(directory)]
