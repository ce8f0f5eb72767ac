"""Writing output files atomically with a manifest, so a reader never sees a half-written export."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
        tmp_name = tmp.name
    # NamedTemporaryFile creates 0600 files; outputs are meant to be read by other people and processes.
    os.chmod(tmp_name, 0o644)
    os.replace(tmp_name, path)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_with_manifest(path: Path, data: bytes, rows: int, extra: dict) -> Path:
    """Write `data` to `path` and `<path>.manifest.json` describing it (rows, bytes, sha256, plus `extra`).

    The manifest holds no wall-clock time, so re-running the same date produces byte-identical files.
    """
    write_atomically(path, data)
    manifest = {"file": path.name, "rows": rows, "bytes": len(data), "sha256": sha256_of(data), **extra}
    manifest_path = path.with_name(path.name + ".manifest.json")
    write_atomically(
        manifest_path, (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    )
    return manifest_path
