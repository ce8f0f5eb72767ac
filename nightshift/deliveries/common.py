"""What every channel writer shares: the audience row, mainland mobile numbers, China time, hashing, parts.

A writer turns one campaign's audience on one channel into `Payload.parts`: (extension, bytes) in order. Writers are
pure (no I/O, no clock): the same rows and plan always give the same bytes, which is what makes a re-run of the
export byte-identical. `write_parts` is the one place that puts parts on disk, atomically.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from nightshift.files import write_atomically

# One audience row: the export stage's campaign-file columns (one_id, contact_id, variant, contact_ref, send_at,
# template_id, benefit_id, cost_fen, param_*) plus the profile columns a channel needs (see each writer).
Row = Mapping[str, object]
# Chinese vendors' consoles and APIs read local times in GMT+8.
CHINA_TIME = ZoneInfo("Asia/Shanghai")
CHINA_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SEND_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # UTC, as the export stage's SQL formats send_at
MAINLAND_COUNTRY_CODE = 86
MAINLAND_MOBILE_DIGITS = 11
# Contacts per part file: big enough that a million contacts make ten files, small enough to retry one cheaply.
CONTACTS_PER_PART = 100_000
PART_NAME = "part-{index:05d}.{extension}"
# A fixed timestamp inside zip files (the format's earliest date): the archive's bytes never depend on the clock.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

INVALID_MOBILE = "invalid_mainland_mobile"
# The notations profiles hold ("+8613800138000", "13800138000", "86 138-0013-8000"), read without the full parser:
# it costs tens of microseconds a number, which a million-row campaign notices.
PLAIN_MAINLAND_MOBILE = re.compile(r"(?:\+?86|0086)?(1\d{10})")
NUMBER_SEPARATORS = str.maketrans("", "", " -()")
NO_ADDRESS = "no_address"


@dataclass
class Payload:
    """One channel's files for one campaign: parts in order, and the contacts left out with their reason."""

    parts: list[tuple[str, bytes]] = field(default_factory=list)  # (extension, content)
    rejected: dict[str, str] = field(default_factory=dict)  # contact_id -> reason
    contacts: int = 0  # contacts written (each exactly once per layout)


def mainland_mobile(value: object) -> str | None:
    """The 11-digit mainland mobile number (no +86, no spaces) of an E.164 or local number; None when it is not one.

    Chinese vendors (SMS, call centres, ad platforms) want exactly the 11 national digits: this is also the
    normalisation Tencent Ads hashes (`HASH_MOBILE_PHONE`: "加密前为11位的纯数字串").
    """
    text = str(value or "").strip()
    if not text:
        return None
    plain = PLAIN_MAINLAND_MOBILE.fullmatch(text.translate(NUMBER_SEPARATORS))
    if plain:
        return plain.group(1)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    digits = phonenumbers.national_significant_number(number)
    is_mobile = len(digits) == MAINLAND_MOBILE_DIGITS and digits.startswith("1")
    return digits if number.country_code == MAINLAND_COUNTRY_CODE and is_mobile else None


def send_instant(row: Row) -> datetime:
    """The row's send_at (UTC text from the export) as an aware datetime."""
    return parsed_send_at(str(row["send_at"]))


@lru_cache(maxsize=4096)  # a campaign has a handful of send times, parsed once each instead of once a row
def parsed_send_at(text: str) -> datetime:
    return datetime.strptime(text, SEND_AT_FORMAT).replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def china_time(moment: datetime) -> str:
    return moment.astimezone(CHINA_TIME).strftime(CHINA_TIME_FORMAT)


def window_end(row: Row, end: time, fallback_zone: str = "Asia/Shanghai") -> datetime:
    """The end of the send window on the person's local day of send_at (the window is local wall-clock time)."""
    try:
        zone = ZoneInfo(str(row.get("timezone") or fallback_zone))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(fallback_zone)
    local_day: date = send_instant(row).astimezone(zone).date()
    closing = datetime.combine(local_day, end, tzinfo=zone)
    # a window that ends at midnight's side of the send time still closes on the same local day
    return closing if closing > send_instant(row) else closing + timedelta(days=1)


def template_params(row: Row) -> dict[str, str]:
    """Template parameters of the row ({name: value}) from its `param_<name>` columns, in column order (the export
    query orders them by name)."""
    return {key[6:]: "" if value is None else str(value) for key, value in row.items() if key.startswith("param_")}


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def in_send_order(rows: Sequence[Row]) -> list[Row]:
    """Rows by send time, then one_id: batches never mix send times and always come out in the same order."""
    return sorted(rows, key=lambda row: (str(row["send_at"]), int(row["one_id"])))


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def zipped(member: str, data: bytes) -> bytes:
    """A one-file zip archive whose bytes depend only on `member` and `data`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(member, date_time=ZIP_EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, data)
    return buffer.getvalue()


def write_parts(directory: Path, parts: Sequence[tuple[str, bytes]]) -> list[Path]:
    """Write parts as `part-NNNNN.<ext>` (numbered per extension) into `directory`, each atomically (temporary name,
    then rename), and remove part files a previous run left beyond them. Returns the paths in order."""
    directory.mkdir(parents=True, exist_ok=True)
    counters: dict[str, int] = {}
    paths = []
    for extension, data in parts:
        index = counters.get(extension, 0)
        counters[extension] = index + 1
        path = directory / PART_NAME.format(index=index, extension=extension)
        write_atomically(path, data)
        paths.append(path)
    written = set(paths)
    for stale in directory.glob("part-*"):
        if stale not in written:
            stale.unlink()
    return paths
