"""A delivery folder (`<exports>/<date>/<campaign>/<channel>/`) is sealed: part files, then `manifest.json`, then
an empty `_SUCCESS`. A reader (a vendor's pick-up job, the publisher) takes a folder only when `_SUCCESS` is there
and every file matches the manifest's sha256, so it never takes half a delivery: a rerun removes `_SUCCESS` before
it touches a part file.

The manifest holds no wall-clock time, so a rerun of the date writes byte-identical files. Its `delivery_id` (the
run's id for this delivery) is derived from the date, campaign, target and plan version for the same reason; the
Airflow run that wrote it is in `ops.stage_runs`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from nightshift.files import sha256_of, write_atomically

MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AudienceDiff:
    """Tonight's people against the previous night this campaign handed people to the same target."""

    previous_run_date: date | None
    added: int
    removed: int
    unchanged: int

    def as_dict(self) -> dict:
        previous = self.previous_run_date.isoformat() if self.previous_run_date else None
        return {"previous_run_date": previous, "added": self.added, "removed": self.removed,
                "unchanged": self.unchanged}  # fmt: skip


def plan_version(plan_json: str) -> str:
    """A short fingerprint of the plan as loaded: it changes whenever anything in the plan does."""
    return hashlib.sha256(plan_json.encode("utf-8")).hexdigest()[:16]


def unseal(directory: Path) -> None:
    """Withdraw the folder's completeness mark before its files are rewritten."""
    (directory / SUCCESS).unlink(missing_ok=True)


def part_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("part-*"))


def seal(
    directory: Path,
    *,
    run_date: date,
    campaign_id: str,
    target: str,
    plan_version: str,
    contacts: int,
    left_out: int,
    cost_fen: int,
    diff: AudienceDiff,
) -> Path:
    """Write the folder's manifest (every part file's size and sha256), then `_SUCCESS`. Returns the manifest."""
    files = [
        {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path.read_bytes())}
        for path in part_files(directory)
    ]
    delivery_key = f"{run_date.isoformat()}|{campaign_id}|{target}|{plan_version}"
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "delivery_id": hashlib.sha256(delivery_key.encode()).hexdigest()[:32],
        "run_date": run_date.isoformat(),
        "campaign_id": campaign_id,
        "target": target,
        "plan_version": plan_version,
        "contacts": contacts,
        "left_out": left_out,
        "cost_fen": cost_fen,
        "file_count": len(files),
        "files": files,
        "diff": diff.as_dict(),
    }
    path = directory / MANIFEST
    write_atomically(path, (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
    write_atomically(directory / SUCCESS, b"")
    return path


def verify(directory: Path) -> list[str]:
    """What is wrong with a sealed folder (empty when it is complete and every file matches its manifest)."""
    if not (directory / SUCCESS).exists():
        return [f"{directory}: no {SUCCESS} (not sealed, or a rerun is rewriting it)"]
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    listed = {entry["file"]: entry for entry in manifest["files"]}
    on_disk = {path.name for path in part_files(directory)}
    problems += [f"{directory / name}: listed in the manifest, missing" for name in sorted(set(listed) - on_disk)]
    problems += [f"{directory / name}: not in the manifest" for name in sorted(on_disk - set(listed))]
    for name in sorted(set(listed) & on_disk):
        if sha256_of((directory / name).read_bytes()) != listed[name]["sha256"]:
            problems.append(f"{directory / name}: sha256 differs from the manifest")
    return problems
