"""The click log: one JSON line per click, in the `clicks` source's landing folder, a file per Beijing day.

    <landing>/clicks/<YYYY-MM-DD>/clicks-<host>-<pid>.jsonl
    {"click_id": "<uuid4 hex>", "code": "...", "clicked_at": "2026-11-20T06:43:12.123Z", "user_agent": "...",
     "ip_hash": "<sha256 hex of salt + ip>"}

The day folder is the Beijing calendar day of the click (the landing convention: a file's day is its folder's
date, nightshift/sources/README.md), so the night's ingest of that date picks the file up; `clicked_at` is UTC.
Each process writes its own file (no two writers interleave), one line per write, flushed at once: a crash
loses at most the line being written. `click_id` makes every click unique, so a re-delivered file or a line
read twice is a duplicate the ingest drops. The IP itself is never written: `ip_hash` is salted, so it cannot be
reversed by hashing every IPv4 address without the salt.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from nightshift.sources.clicks import CLICKS

SOURCE_FOLDER = CLICKS.source  # the landing folder of the `clicks` source (nightshift/sources/clicks.py)
BEIJING = ZoneInfo("Asia/Shanghai")
# A user agent longer than this is cut: it is for telling bots and devices apart, not for storing essays.
MAX_USER_AGENT_CHARS = 512


def ip_hash(salt: str, ip: str) -> str:
    return hashlib.sha256((salt + ip).encode("utf-8")).hexdigest()


def clicked_at_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ClickLog:
    """Appends clicks to today's file of this process; opens the next day's file when the day changes."""

    def __init__(self, landing_dir: Path, ip_salt: str) -> None:
        if not ip_salt:
            raise ValueError("an IP salt is required (NIGHTSHIFT_SHORTLINK_IP_SALT): without it IP hashes reverse")
        self.folder = landing_dir / SOURCE_FOLDER
        self.ip_salt = ip_salt
        self.file_name = f"clicks-{socket.gethostname()}-{os.getpid()}.jsonl"
        self._day: date | None = None
        self._handle: TextIO | None = None

    def path_for(self, day: date) -> Path:
        return self.folder / day.isoformat() / self.file_name

    def record(self, code: str, user_agent: str, ip: str, now: datetime | None = None) -> dict:
        moment = now or datetime.now(UTC)
        click = {
            "click_id": uuid.uuid4().hex,
            "code": code,
            "clicked_at": clicked_at_text(moment),
            "user_agent": user_agent[:MAX_USER_AGENT_CHARS],
            "ip_hash": ip_hash(self.ip_salt, ip),
        }
        handle = self._file(moment.astimezone(BEIJING).date())
        handle.write(json.dumps(click, ensure_ascii=False, separators=(",", ":")) + "\n")
        handle.flush()
        return click

    def _file(self, day: date) -> TextIO:
        if self._handle is None or day != self._day:
            self.close()
            path = self.path_for(day)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle, self._day = path.open("a", encoding="utf-8"), day
        return self._handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
