"""Load the real CDNOW transaction log through the normal landing -> validation -> raw path."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from nightshift.ingest.day import ingest_day
from nightshift.ingest.errors import IngestionError
from nightshift.settings import Settings

# The last day covered by the log (purchases run 1997-01-01 .. 1998-06-30): the file is "delivered" that day.
CDNOW_DROP_DATE = date(1998, 6, 30)
CDNOW_FILE_NAME = "CDNOW_master.txt"


def stage_cdnow_file(path: Path, landing_root: Path) -> Path:
    """Copy the file to `<landing>/cdnow/1998-06-30/CDNOW_master.txt` (unchanged bytes) and return that path."""
    if not path.is_file():
        raise IngestionError(
            f"CDNOW file {path} does not exist; pass the path of CDNOW_master.txt "
            "(e.g. /work/shared/datasets/cdnow/CDNOW_master.txt)"
        )
    target = landing_root / "cdnow" / CDNOW_DROP_DATE.isoformat() / CDNOW_FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and target.read_bytes() == path.read_bytes()):
        shutil.copyfile(path, target)
    return target


def load_cdnow(path: Path, settings: Settings, client=None) -> list[dict]:
    """Stage the CDNOW file in the landing area and ingest it as source `cdnow`; returns the summary rows."""
    stage_cdnow_file(Path(path), settings.landing_dir)
    return ingest_day(CDNOW_DROP_DATE, "cdnow", settings, client=client)
