"""One day's export files as the channels receive them: every planned contact, read into columns.

Campaign files are `campaign__<campaign_id>__<channel>.csv`; make-up files `replenishment__<campaign_id>__
<benefit_id>.csv` carry the same columns and stand for benefits granted again, with no message to deliver
(their rows have channel ''); resend files `resend__<campaign_id>__<channel>.csv` are messages sent once more on a
fallback channel, answered like campaign files. All are written by the export stage (ClickHouse CSVWithNames:
header row, quoted strings). Only the base columns are read; template parameters (`param_*`) do not change what
the world answers.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from nightshift.errors import NightshiftError

CAMPAIGN_FILE = re.compile(r"^campaign__(?P<campaign>.+)__(?P<channel>[a-z_]+)\.csv$")
REPLENISHMENT_FILE = re.compile(r"^replenishment__(?P<campaign>.+)__(?P<benefit>.+)\.csv$")
RESEND_FILE = re.compile(r"^resend__(?P<campaign>.+)__(?P<channel>[a-z_]+)\.csv$")
BASE_COLUMNS = ("one_id", "contact_id", "variant", "contact_ref", "send_at", "template_id", "benefit_id", "cost_fen")
SEND_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # UTC, as the export stage formats it
NO_SEND_AT = -1
# Values the landing files carry verbatim: the world's encoders neither quote CSV nor escape JSON.
UNSAFE_TEXT = r'[",\\\x00-\x1f]'


class ExportFileError(NightshiftError):
    """An export file the responder cannot answer."""


@dataclass
class Contacts:
    """Planned contacts in file order; one entry per export row."""

    source_file: np.ndarray  # export file name
    campaign_id: np.ndarray
    channel: np.ndarray  # '' for replenishment rows
    one_id: np.ndarray  # decimal text, as exported
    variant: np.ndarray  # the experiment arm the contact was planned in
    contact_id: np.ndarray
    contact_ref: np.ndarray
    template_id: np.ndarray
    benefit_id: np.ndarray
    send_at: np.ndarray  # epoch seconds, NO_SEND_AT when the cell is empty
    cost_fen: np.ndarray

    def __len__(self) -> int:
        return len(self.contact_id)

    @property
    def has_benefit(self) -> np.ndarray:
        """Rows that ask for a grant: a benefit with a cost (free benefits such as VIP days are not in the ledger)."""
        return (self.benefit_id != "") & (self.cost_fen > 0)

    @classmethod
    def concat(cls, parts: list[Contacts]) -> Contacts:
        if not parts:
            integer = ("send_at", "cost_fen")
            return cls(**{f.name: np.array([], np.int64 if f.name in integer else object) for f in fields(cls)})
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def export_files(exports_day_dir: Path) -> list[Path]:
    """The day's campaign and replenishment files, by name (segment files and manifests are not contacts)."""
    return sorted(
        path
        for path in Path(exports_day_dir).glob("*.csv")
        if CAMPAIGN_FILE.match(path.name) or REPLENISHMENT_FILE.match(path.name) or RESEND_FILE.match(path.name)
    )


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def _text(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_pylist(), dtype=object)


def _check_text(path: Path, name: str, values: np.ndarray) -> None:
    if not len(values):
        return
    bad = np.flatnonzero(pc.match_substring_regex(pa.array(values, pa.string()), UNSAFE_TEXT).to_numpy(False))
    if len(bad):
        row = int(bad[0])
        raise ExportFileError(
            f"{path}, line {row + 2}, column {name}: {values[row]!r} contains a quote, comma, backslash or control "
            "character, which the vendors' files cannot carry unquoted; fix the value upstream and export again"
        )


def read_export_file(path: Path) -> Contacts:
    """One export file's rows. Fails, naming the file and line, on what the channels could not act on."""
    campaign = CAMPAIGN_FILE.match(path.name) or RESEND_FILE.match(path.name)
    replenishment = REPLENISHMENT_FILE.match(path.name)
    if not (campaign or replenishment):
        raise ExportFileError(
            f"{path}: not a campaign__<id>__<channel>.csv, resend__<id>__<channel>.csv or "
            "replenishment__<id>__<benefit>.csv"
        )
    missing = [name for name in BASE_COLUMNS if name not in _header(path)]
    if missing:
        raise ExportFileError(
            f"{path}: no column {', '.join(missing)}. The responder answers every contact by its contact_id, so it "
            "needs export files with the columns " + ",".join(BASE_COLUMNS) + "; re-run the export stage for the "
            "date with a Nightshift that writes contact_id"
        )
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(BASE_COLUMNS, pa.string()),
        include_columns=list(BASE_COLUMNS),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    table = pacsv.read_csv(path, convert_options=options)
    n = table.num_rows
    contact_id = _text(table, "contact_id")
    empty = np.flatnonzero(contact_id == "")
    if len(empty):
        line = int(empty[0]) + 2
        raise ExportFileError(f"{path}, line {line}: contact_id is empty; every exported row needs its key")
    try:
        cost_fen = np.asarray(pc.if_else(pc.equal(table.column("cost_fen"), ""), "0", table.column("cost_fen"))
                              .cast(pa.int64()).to_numpy(), dtype=np.int64)  # fmt: skip
    except pa.ArrowInvalid as error:
        raise ExportFileError(f"{path}: cost_fen must be whole fen ({error})") from None
    send_at = pc.strptime(table.column("send_at"), format=SEND_AT_FORMAT, unit="s", error_is_null=True)
    send_at = np.asarray(pc.fill_null(send_at.cast(pa.int64()), NO_SEND_AT).to_numpy(), dtype=np.int64)
    name = campaign or replenishment
    contacts = Contacts(
        source_file=np.full(n, path.name, dtype=object),
        campaign_id=np.full(n, name["campaign"], dtype=object),
        channel=np.full(n, campaign["channel"] if campaign else "", dtype=object),
        one_id=_text(table, "one_id"),
        variant=_text(table, "variant"),
        contact_id=contact_id,
        contact_ref=_text(table, "contact_ref"),
        template_id=_text(table, "template_id"),
        benefit_id=_text(table, "benefit_id"),
        send_at=send_at,
        cost_fen=cost_fen,
    )
    for column in ("campaign_id", "contact_id", "contact_ref", "template_id", "benefit_id", "one_id"):
        _check_text(path, column, getattr(contacts, column))
    return contacts
