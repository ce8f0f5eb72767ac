"""Publish a night's exports to where the vendors pick them up: `NIGHTSHIFT_EXPORT_TARGET`, any fsspec URL (an
SFTP server `sftp://user@host:port/path`, an S3-compatible store `s3://bucket/prefix`, another local directory),
with `NIGHTSHIFT_EXPORT_TARGET_OPTIONS` (JSON) as the filesystem's options (for example `{"known_hosts": null}`,
or `{"client_kwargs": {"endpoint_url": "http://..."}}`). Credentials come from the URL, those options or the
filesystem's own environment variables (AWS_*), never from a file in the repo.

The export stage writes locally first (the same bytes on every rerun); this copies `<exports>/<date>/` to
`<target>/<date>/`:

- A sealed delivery folder (`_SUCCESS` beside its `manifest.json`) goes over in the order a reader relies on:
  the remote `_SUCCESS` is withdrawn, the part files go up, then the manifest, then `_SUCCESS`. A folder the target
  already holds with the same manifest and its `_SUCCESS` is skipped: a rerun never sends a delivery twice.
- Every other file (campaign, segment, make-up and resend CSVs with their `.manifest.json`) goes up after its data
  file, skipped when the remote copy has the same bytes.
- Each file is written under a temporary name and then renamed, and retried with exponential backoff
  (RETRY_ATTEMPTS) when the transfer fails midway; part files a previous delivery left beyond tonight's are removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from nightshift.deliveries.manifest import MANIFEST, SUCCESS, part_files
from nightshift.errors import NightshiftError
from nightshift.settings import hide_password

RETRY_ATTEMPTS = 4
MANIFEST_SUFFIX = ".manifest.json"
# Mistakes in our own code or settings are not worth a retry; anything else (a dropped connection, a server
# failure, a timeout) is.
NOT_RETRYABLE = (TypeError, ValueError, KeyError, AttributeError, NotImplementedError, PermissionError)


@dataclass
class Published:
    target: str
    uploaded: list[str] = field(default_factory=list)  # paths relative to the date folder
    skipped: list[str] = field(default_factory=list)  # already there, identical
    removed: list[str] = field(default_factory=list)  # stale part files of an earlier delivery
    retries: int = 0

    @property
    def summary(self) -> str:
        text = f"published to {self.target}: {len(self.uploaded)} files sent, {len(self.skipped)} already there"
        if self.removed:
            text += f", {len(self.removed)} stale removed"
        if self.retries:
            text += f", {self.retries} retried"
        return text


def target_filesystem(target: str, options_json: str = ""):
    """The fsspec filesystem and root path of a target URL; a clear error for unusable settings."""
    try:
        options = json.loads(options_json) if options_json else {}
    except json.JSONDecodeError as error:
        raise NightshiftError(
            f"NIGHTSHIFT_EXPORT_TARGET_OPTIONS is not valid JSON ({error}); give the filesystem options as a JSON "
            'object, for example {"known_hosts": null}'
        ) from None
    if not isinstance(options, dict):
        raise NightshiftError("NIGHTSHIFT_EXPORT_TARGET_OPTIONS must be a JSON object of filesystem options")
    try:
        return fsspec.core.url_to_fs(target, **options)
    except (ImportError, ValueError) as error:
        raise NightshiftError(
            f"NIGHTSHIFT_EXPORT_TARGET={hide_password(target)!r} cannot be opened: {error}. Use a local path, "
            "sftp://user@host:port/path or s3://bucket/prefix"
        ) from None


class Publisher:
    def __init__(self, fs, root: str, target: str) -> None:
        self.fs, self.root = fs, root.rstrip("/")
        self.result = Published(hide_password(target))

    def _retrying(self) -> Retrying:
        def count(state: RetryCallState) -> None:
            self.result.retries += 1

        return Retrying(
            stop=stop_after_attempt(RETRY_ATTEMPTS),
            wait=wait_exponential(multiplier=0.2, max=5),
            retry=retry_if_exception(lambda error: not isinstance(error, NOT_RETRYABLE)),
            before_sleep=count,
            reraise=True,
        )

    def _do(self, what: str, action: Callable[[], object]) -> None:
        try:
            for attempt in self._retrying():
                with attempt:
                    action()
        except Exception as error:
            raise NightshiftError(
                f"could not {what} on {self.result.target} after {RETRY_ATTEMPTS} attempts: "
                f"{type(error).__name__}: {error}. Nothing was marked complete; rerun the export stage to resume"
            ) from error

    def _remote(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def _same_bytes(self, relative: str, data: bytes) -> bool:
        remote = self._remote(relative)
        try:
            return self.fs.exists(remote) and self.fs.cat_file(remote) == data
        except FileNotFoundError:
            return False

    def _remove_if_present(self, relative: str) -> None:
        remote = self._remote(relative)
        self._do(f"remove {relative}", lambda: self.fs.rm_file(remote) if self.fs.exists(remote) else None)

    def upload(self, local: Path, relative: str) -> None:
        """One file: under a temporary name, then renamed over the final one."""
        data = local.read_bytes()
        remote = self._remote(relative)
        directory, _, name = remote.rpartition("/")
        temporary = f"{directory}/.{name}.partial"

        def send() -> None:
            self.fs.makedirs(directory, exist_ok=True)
            self.fs.pipe_file(temporary, data)
            if self.fs.exists(remote):  # SFTP refuses to rename over an existing file
                self.fs.rm_file(remote)
            self.fs.mv(temporary, remote)

        self._do(f"send {relative}", send)
        self.result.uploaded.append(relative)

    def delivery(self, folder: Path, relative: str) -> None:
        manifest = (folder / MANIFEST).read_bytes()
        if self._same_bytes(f"{relative}/{MANIFEST}", manifest) and self.fs.exists(
            self._remote(f"{relative}/{SUCCESS}")
        ):
            self.result.skipped.append(relative)
            return
        self._remove_if_present(f"{relative}/{SUCCESS}")
        parts = part_files(folder)
        for part in parts:
            self.upload(part, f"{relative}/{part.name}")
        remote_folder = self._remote(relative)
        kept = {part.name for part in parts}
        for remote in self.fs.ls(remote_folder, detail=False) if self.fs.exists(remote_folder) else []:
            name = remote.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("part-") and name not in kept:
                self._remove_if_present(f"{relative}/{name}")
                self.result.removed.append(f"{relative}/{name}")
        self.upload(folder / MANIFEST, f"{relative}/{MANIFEST}")
        self.upload(folder / SUCCESS, f"{relative}/{SUCCESS}")

    def loose_file(self, path: Path, relative: str) -> None:
        if self._same_bytes(relative, path.read_bytes()):
            self.result.skipped.append(relative)
            return
        self.upload(path, relative)


def publish(local_dir: Path, target: str, options_json: str = "") -> Published:
    """Copy one night's export folder (`<exports>/<date>`) to `<target>/<date>` (see the module docstring)."""
    fs, root = target_filesystem(target, options_json)
    publisher = Publisher(fs, f"{root.rstrip('/')}/{local_dir.name}", target)
    deliveries = sorted(path.parent for path in local_dir.rglob(SUCCESS))
    for folder in deliveries:
        publisher.delivery(folder, folder.relative_to(local_dir).as_posix())
    inside = {path for folder in deliveries for path in folder.rglob("*")}
    # hidden files are temporary names of an interrupted local write, never part of a delivery
    loose = [p for p in local_dir.rglob("*") if p.is_file() and p not in inside and not p.name.startswith(".")]
    # a data file before its manifest: a reader that finds the manifest finds the file it describes
    loose.sort(key=lambda path: (path.name.endswith(MANIFEST_SUFFIX), path.as_posix()))
    for path in loose:
        publisher.loose_file(path, path.relative_to(local_dir).as_posix())
    return publisher.result
