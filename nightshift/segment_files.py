"""Moved to `nightshift.segments`; kept as a re-export for existing imports."""

from nightshift.segments.files import SEGMENTS_DIR, SegmentError, SegmentFile, load_segment_files, parse_segment_file

__all__ = ["SEGMENTS_DIR", "SegmentError", "SegmentFile", "load_segment_files", "parse_segment_file"]
