"""Uploaded lists in `nightshift segment preview`: each usable list matched now and bound as a bitmap, so it is
previewed, and overlapped with every segment, like the segments themselves."""

from __future__ import annotations

import uuid
from pathlib import Path

from nightshift.segments.bitmaps import SegmentPlan
from nightshift.uploads.matching import match_upload
from nightshift.uploads.nightly import upload_paths
from nightshift.uploads.reading import UploadError, read_upload
from nightshift.warehouse.partitions import table_exists
from nightshift.warehouse.schema import INGEST_SCRATCH_DATABASE

UPLOADED_LIST = "uploaded list"  # the preview's method for an upload


def upload_plans(
    client, directory: Path, taken: set[str], identity_map: str | None = None
) -> tuple[list[tuple[SegmentPlan, str]], list[str]]:
    """((plan, scratch table to drop after the preview) per usable list, problems of the others), matched through
    the current identity map (or `identity_map`, a SELECT of id_type, id_value, one_id)."""
    paths = [path for path in upload_paths(directory) if path.stem not in taken]
    if not paths:
        return [], []
    if identity_map is None and not table_exists(client, "identity.identity_map"):
        return [], ["identity.identity_map does not exist yet: run the identity stage to match uploads"]
    plans, problems = [], []
    for path in paths:
        try:
            match = match_upload(client, read_upload(path), identity_map=identity_map)
        except UploadError as error:
            problems.append(str(error))
            continue
        scratch = f"{INGEST_SCRATCH_DATABASE}.preview_{uuid.uuid4().hex[:12]}"
        client.command(f"CREATE TABLE {scratch} (one_id UInt64) ENGINE = Memory")
        if match.members:
            client.insert(scratch, [[one_id] for one_id in match.members], column_names=["one_id"])
        expression = f"(SELECT groupBitmapState(toUInt32(one_id)) FROM {scratch})"
        plans.append((SegmentPlan(match.name, UPLOADED_LIST, expression), scratch))
    return plans, problems
