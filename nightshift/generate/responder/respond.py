"""`respond`: the simulated world answers one day's exports with landing files and the truth of its faults."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from nightshift.generate.ids import rng_for
from nightshift.generate.responder import answers, api_sends, conversions
from nightshift.generate.responder.exports import Contacts, ExportFileError, export_files, read_export_file
from nightshift.generate.responder.faults import (
    Draws,
    ResponderRates,
    draw,
    extra_grants,
    truth_rows,
    write_truth,
)
from nightshift.generate.responder.people import People, load_world
from nightshift.generate.table import Table, encode_table, file_chunks

ANSWERED_SOURCES = ("benefits", "receipts", "orders")
RESPONSES_INFIX = "_responses_"


@dataclass
class ResponseSummary:
    business_date: date
    contacts: int = 0
    records: dict[str, int] = field(default_factory=dict)  # per raw table
    faults: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # relative to the landing root
    truth_file: str = ""
    conversions: int = 0  # extra orders the messages caused
    uplift_truth_file: str = ""

    def describe(self) -> str:
        records = ", ".join(f"{table} {n:,}" for table, n in self.records.items()) or "nothing"
        faults = ", ".join(f"{fault} {n:,}" for fault, n in self.faults.items()) or "none"
        return (
            f"answered {self.contacts:,} contacts exported on {self.business_date}: {records} in "
            f"{len(self.files)} files; faults: {faults}; {self.conversions:,} extra orders caused by the messages"
        )


def response_file_name(table: Table, business_date: date) -> str:
    """`<entity stem>_responses_<D>.<ext>`: named by the business date answered, so a file of a late day is
    only ever replaced by a rerun of the day it answers, and the entity's glob still claims it."""
    entity = table.entity
    stem = entity.file_glob.split("*", 1)[0]
    return f"{stem}{RESPONSES_INFIX}{business_date.isoformat()}.{'csv' if entity.format == 'csv' else 'jsonl'}"


def _remove_earlier_answers(landing_root: Path, business_date: date) -> None:
    """A rerun replaces everything an earlier run for the date wrote, on whichever landing days it landed."""
    for source in ANSWERED_SOURCES:
        for path in sorted((landing_root / source).glob(f"*/*{RESPONSES_INFIX}{business_date.isoformat()}.*")):
            path.unlink()
            if not any(path.parent.iterdir()):
                path.parent.rmdir()


def _write(table: Table, path: Path) -> None:
    encoded = encode_table(table)
    chunks = file_chunks(encoded.lines, encoded.header, table.entity.encoding or "utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    temporary.replace(path)


def _check_channels(path: Path, contacts: Contacts) -> np.ndarray:
    """Which rows get a receipt; fails on a channel the responder does not know."""
    unknown = sorted(set(contacts.channel.tolist()) - set(answers.RECEIPT_ENTITY) - {""})
    if unknown:
        raise ExportFileError(
            f"{path}: channel {unknown[0]!r} has no vendor in the simulated world; known channels: "
            f"{', '.join(sorted(answers.RECEIPT_ENTITY))} (add it to nightshift/generate/responder/answers.py)"
        )
    with_receipts = [channel for channel, entity in answers.RECEIPT_ENTITY.items() if entity]
    return np.isin(contacts.channel, with_receipts)


def respond(
    exports_day_dir: Path,
    landing_root: Path,
    business_date: date,
    seed: int = 42,
    rates: ResponderRates | None = None,
    channel_ledger: Path | None = None,
) -> ResponseSummary:
    """Answer the campaign and replenishment files of `exports_day_dir` (business date D) with benefit ledger
    and vendor receipt files under `landing_root`, on D+1 (late receipts later), and record the injected faults
    in `<landing_root>/_truth/reconciliation_faults.csv`; contacts who buy because of the message place extra
    orders on D+1 .. D+window (`conversions`), their injected uplift in `<landing_root>/_truth/measurement_uplift.csv`.

    With `channel_ledger` (the directory where the channel simulator keeps its ledger), the channels delivered
    through their APIs are answered from what the simulator accepted, not from the files (`api_sends`).

    Re-running a date replaces its files and its truth rows; the same inputs and seed give identical bytes.
    """
    exports_day_dir, landing_root = Path(exports_day_dir), Path(landing_root)
    if not exports_day_dir.is_dir():
        raise ExportFileError(
            f"no exports for {business_date} in {exports_day_dir}: run the pipeline (export stage) for that date first"
        )
    rates = rates or ResponderRates()
    send_day = business_date + timedelta(days=1)
    parts: list[Contacts] = []
    drawn: list[Draws] = []
    for path in export_files(exports_day_dir):
        contacts = read_export_file(path)
        has_receipt = _check_channels(path, contacts)
        # One generator per file: a file added to or dropped from the day leaves the other files' answers alone.
        rng = rng_for(seed, "responder", business_date.isoformat(), path.name)
        parts.append(contacts)
        drawn.append(draw(contacts, has_receipt, rates, rng))
    contacts = Contacts.concat(parts)
    # A day without campaign files is answered with nothing, which still clears an earlier run's files and truth.
    draws = Draws.concat(drawn) if drawn else draw(contacts, np.zeros(0, bool), rates, rng_for(seed, "responder"))
    was_sent = None
    if channel_ledger is not None:
        draws, was_sent = api_sends.answer_from_ledger(
            contacts, draws, api_sends.contact_statuses(exports_day_dir, channel_ledger)
        )
    people = People.resolve(load_world(landing_root) if len(contacts) else None, contacts.contact_ref)
    extra = extra_grants(contacts, business_date, send_day, rates, seed)

    summary = ResponseSummary(business_date, contacts=len(contacts))
    _remove_earlier_answers(landing_root, business_date)
    grant_table, grant_offsets = answers.grants(contacts, draws, people, extra, send_day)
    tables = [(grant_table, grant_offsets), *answers.receipts_for(contacts, draws, people, send_day, was_sent)]
    first_grants = _first_grants(grant_table)
    converted = _conversions(contacts, people, first_grants, rates, send_day, business_date, seed)
    tables += conversions.order_tables(converted, contacts, people, first_grants, business_date)
    summary.conversions = len(converted)
    for table, offsets in tables:
        summary.records[table.entity.raw_table] = len(table)
        for offset in sorted(set(offsets.tolist())):
            day = business_date + timedelta(days=offset)
            path = landing_root / table.entity.source / day.isoformat() / response_file_name(table, business_date)
            _write(table.take(np.flatnonzero(offsets == offset)), path)
            summary.files.append(path.relative_to(landing_root).as_posix())
    rows = truth_rows(contacts, draws, extra, business_date)
    summary.truth_file = write_truth(landing_root, business_date, rows).relative_to(landing_root).as_posix()
    summary.faults = dict(sorted(Counter(row[4] for row in rows).items()))
    uplift = conversions.truth_rows(converted, contacts, business_date)
    summary.uplift_truth_file = (
        conversions.write_truth(landing_root, business_date, uplift).relative_to(landing_root).as_posix()
    )
    return summary


def _first_grants(grants: Table) -> dict[str, str]:
    """contact_id -> the grant_id of its first grant (a duplicated grant is redeemed once)."""
    first: dict[str, str] = {}
    keys, ids = grants.columns["out_request_no"].values, grants.columns["grant_id"].values
    for key, grant_id in zip(list(keys), list(ids), strict=True):
        first.setdefault(str(key), str(grant_id))
    return first


def _conversions(
    contacts: Contacts,
    people: People,
    first_grants: dict[str, str],
    rates: ResponderRates,
    send_day: date,
    business_date: date,
    seed: int,
) -> conversions.Conversions:
    """Each contact's incremental rate (its campaign and variant), and the coupon it holds when it was granted."""
    granted = contacts.has_benefit & np.isin(contacts.contact_id, list(first_grants))
    per_contact = np.array(
        [rates.conversion_rate_for(c, v) for c, v in zip(contacts.campaign_id, contacts.variant, strict=True)],
        dtype=np.float64,
    )
    return conversions.draw_conversions(
        contacts,
        conversions.can_buy(people, contacts, send_day),
        granted,
        per_contact,
        rates.conversion_window_days,
        send_day,
        conversions.conversion_rng(seed, business_date),
    )
