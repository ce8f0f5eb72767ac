"""The uploaded lists of one run date: every `segments/uploads/*.csv` read, matched as of the run date and
recorded (audience.upload_members, upload_matches, upload_unmatched). A list that cannot be used is recorded with
its error and skipped; it never stops the other lists or the segments."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nightshift.uploads.matching import UploadMatch, identity_map_sql, match_upload
from nightshift.uploads.reading import UPLOADS_DIR, UploadError, read_upload
from nightshift.warehouse.partitions import table_exists

log = logging.getLogger(__name__)
UPLOAD_TABLES = ("audience.upload_members", "audience.upload_matches", "audience.upload_unmatched")


@dataclass
class UploadsOutcome:
    matches: list[UploadMatch] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{m.name}: {m.matched_rows:,}/{m.rows:,} rows matched ({m.match_rate:.0%})" for m in self.matches]
        if self.errors:
            parts.append(f"{len(self.errors)} upload(s) skipped")
        return "; ".join(parts)


def upload_paths(directory: Path = UPLOADS_DIR) -> list[Path]:
    return sorted(Path(directory).glob("*.csv")) if Path(directory).is_dir() else []


def match_uploads(
    client,
    run_date: date,
    taken_names: set[str],
    directory: Path = UPLOADS_DIR,
    identity_map: str | None = None,
) -> UploadsOutcome:
    """Match every upload as of `run_date` and write its rows (the caller has reset the run date's partitions)."""
    outcome = UploadsOutcome()
    no_map = identity_map is None and not table_exists(client, "identity.identity_map_daily")
    for path in upload_paths(directory):
        try:
            if no_map:
                raise UploadError(path, 1, "identity.identity_map_daily does not exist.", "Run the identity stage.")
            if path.stem in taken_names:
                raise UploadError(path, 1, f"a segment is already called {path.stem!r}.", "Rename the upload.")
            match = match_upload(client, read_upload(path), run_date, identity_map or identity_map_sql(run_date))
        except UploadError as error:
            log.warning("upload skipped: %s", error)
            outcome.errors.append(str(error))
            client.insert(
                "audience.upload_matches",
                [[run_date, path.stem, str(path), 0, 0, 0, {}, str(error)]],
                column_names=["run_date", "upload", "file", "rows", "matched_rows", "members", "unmatched_by_reason",
                              "error"],
            )  # fmt: skip
            continue
        outcome.matches.append(match)
        if match.members:
            client.insert(
                "audience.upload_members",
                [[run_date, match.name, one_id] for one_id in match.members],
                column_names=["run_date", "upload", "one_id"],
            )
        client.insert(
            "audience.upload_matches",
            [[run_date, match.name, str(path), match.rows, match.matched_rows, len(match.members),
              match.reason_counts, ""]],
            column_names=["run_date", "upload", "file", "rows", "matched_rows", "members", "unmatched_by_reason",
                          "error"],
        )  # fmt: skip
        if match.unmatched:
            client.insert(
                "audience.upload_unmatched",
                [[run_date, match.name, row.line, row.values, row.reason] for row in match.unmatched],
                column_names=["run_date", "upload", "line", "ids", "reason"],
            )
    return outcome
