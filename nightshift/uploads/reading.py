"""Read an uploaded list defensively: a hostile or broken file gives an UploadError or rejected rows, never a crash.

The file is a CSV whose header names one id type per column (`phone`, `unionid`, `openid`, `app_user_id`). It must
be UTF-8 (a BOM is fine), at most MAX_UPLOAD_BYTES and MAX_UPLOAD_ROWS. Problems of the whole file (encoding, NUL
bytes, header, size) raise UploadError at file:line; problems of one row (wrong number of fields, an oversized value,
no id at all) reject that row with a reason and keep the others.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from nightshift.errors import NightshiftError
from nightshift.segments.files import SEGMENT_NAME, SEGMENTS_DIR, closest

UPLOADS_DIR = SEGMENTS_DIR / "uploads"
# header -> identity map id types it may match (an openid may be the Official Account's or the mini program's)
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": ("phone",),
    "unionid": ("unionid",),
    "openid": ("wechat_oa_openid", "miniprogram_openid"),
    "app_user_id": ("app_user_id",),
}
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
MAX_UPLOAD_ROWS = 5_000_000
MAX_VALUE_CHARS = 128  # longer than any id we hold: a pasted paragraph or an injection attempt
# Characters that start a formula when a CSV is opened in a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UploadError(NightshiftError):
    """The whole upload is unusable: where and why, and what to do."""

    def __init__(self, path: Path, line: int, message: str, hint: str = "") -> None:
        self.path, self.line, self.message, self.hint = Path(path), line, message, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" + (f" {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str
    value: str  # the row as text, shortened and made safe to print (see `printable`)


@dataclass
class UploadedList:
    name: str
    path: Path
    columns: tuple[str, ...]
    lines: list[int] = field(default_factory=list)  # file line of each accepted row
    values: dict[str, list[str]] = field(default_factory=dict)  # column -> value per accepted row ('' = blank)
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Data rows in the file (accepted and rejected)."""
        return len(self.lines) + len(self.rejected)


def printable(text: str, limit: int = 60) -> str:
    """A value safe to show in a terminal or a spreadsheet: control characters escaped, shortened, and a leading
    formula character neutralised with a quote."""
    shown = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    shown = shown if len(shown) <= limit else shown[: limit - 1] + "…"
    return f"'{shown}" if shown.startswith(FORMULA_STARTS) else shown


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UploadError(
            path,
            line,
            f"the file is not UTF-8 (byte 0x{data[error.start]:02x} cannot be decoded; GBK or Excel's default "
            "encoding?).",
            "Save it as 'CSV UTF-8' (Excel) or convert it: `iconv -f GBK -t UTF-8`.",
        ) from None
    if "\x00" in text:
        raise UploadError(
            path, text.count("\n", 0, text.index("\x00")) + 1, "the file contains NUL bytes: it is not a text CSV.",
            "Export the list as CSV (not .xlsx or UTF-16).",
        )  # fmt: skip
    return text


def _header(path: Path, row: list[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower() for cell in row)
    allowed = ", ".join(ID_COLUMNS)
    if not any(columns):
        raise UploadError(path, 1, "the header is empty.", f"The first line names the id columns: {allowed}.")
    for column in columns:
        if column not in ID_COLUMNS:
            guess = closest(column, tuple(ID_COLUMNS))
            hint = f"Did you mean `{guess}`?" if guess else f"Id columns are: {allowed}."
            raise UploadError(path, 1, f"unknown column {printable(column)!r} in the header.", hint)
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise UploadError(path, 1, f"column {repeated[0]!r} appears twice.", "Put one id type per column.")
    return columns


def read_upload(path: Path, name: str | None = None) -> UploadedList:
    """The checked rows of an upload file; raises UploadError when the file as a whole cannot be used."""
    path = Path(path)
    name = name or path.stem
    if not SEGMENT_NAME.match(name):
        raise UploadError(path, 1, f"{name!r} is not a lowercase identifier.", "Rename the file (letters, digits, _).")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(
            path, 1, f"the file is {size / 2**20:,.0f} MiB; uploads are at most {MAX_UPLOAD_BYTES / 2**20:,.0f} MiB.",
            "Split the list into several files.",
        )  # fmt: skip
    text = _decode(path, path.read_bytes())
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_UPLOAD_BYTES)  # a huge field is rejected below with its line, not by the csv module
    try:
        return _parse(path, name, text)
    finally:
        csv.field_size_limit(previous_limit)


def _parse(path: Path, name: str, text: str) -> UploadedList:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise UploadError(path, 1, "the file is empty.", "Start with a header line, e.g. `phone` or `unionid`.")
        upload = UploadedList(name, path, _header(path, header))
        upload.values = {column: [] for column in upload.columns}
        width = len(upload.columns)
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                if len(row) <= 1:
                    continue  # a blank line
                upload.rejected.append(RejectedRow(line, "no id in the row", printable(",".join(row))))
                continue
            if upload.rows >= MAX_UPLOAD_ROWS:
                raise UploadError(
                    path, line, f"more than {MAX_UPLOAD_ROWS:,} rows.", "Split the list into several files."
                )
            if len(row) != width:
                reason = f"{len(row)} fields, the header has {width}"
                upload.rejected.append(RejectedRow(line, reason, printable(",".join(row))))
                continue
            long = next((cell for cell in row if len(cell.strip()) > MAX_VALUE_CHARS), None)
            if long is not None:
                reason = f"a value of {len(long):,} characters (ids are at most {MAX_VALUE_CHARS})"
                upload.rejected.append(RejectedRow(line, reason, printable(long)))
                continue
            upload.lines.append(line)
            for column, cell in zip(upload.columns, row, strict=True):
                upload.values[column].append(cell.strip())
    except csv.Error as error:
        raise UploadError(
            path, reader.line_num, f"the CSV cannot be read: {error}.", "Check quotes: a value with a comma is quoted."
        ) from None
    if not upload.rows:
        raise UploadError(path, 2, "the file has a header but no rows.", "Add one id per line under the header.")
    return upload
