"""Channels Nightshift delivered through their APIs: the world answers what the channel simulator accepted.

When a day's messages went out through the vendors' APIs (the `deliver` stage against `nightshift simulate
channels`), a file on disk is not a send: the simulator's ledger of accepted sends is. For the channels the
simulator speaks (`API_CHANNELS`) the responder then answers from the ledger, key by key, instead of from its own
draws:

- `accepted`: a delivered receipt on D+1 (later when the draw makes it late; truth `receipt_late`);
- `undelivered` (the vendor took it, the handset never got it): a failed receipt with the vendor's invalid-number
  code (truth `delivery_failed`);
- `failed` (the API refused it for good: user not subscribed, invalid contact): no receipt, the vendor never had
  it (truth `delivery_failed`);
- in a sealed API payload but not in the ledger (never sent): no receipt and no truth row; reconciliation calls it
  `missing_receipt` once the lag window has passed.

Contacts of those channels that went out in no API payload (resend files, which are handed over as files) are
answered from the files as before.

Reconciliation learns the refused sends from `audience.delivery_results`, and the undelivered ones from the
receipts, so both come back as `delivery_failed`. Grants do not depend on the message and are answered as
before. SMS sent through the API all go to Aliyun (`SendBatchSms`), never to the second vendor.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from nightshift.contracts import (  # the channels the simulator speaks; calls still go out as files
    API_CHANNELS,
)
from nightshift.errors import NightshiftError
from nightshift.generate.channels.ledger import recipient_keys
from nightshift.generate.responder.exports import Contacts
from nightshift.generate.responder.faults import Draws

ACCEPTED, UNDELIVERED, FAILED = "accepted", "undelivered", "failed"
INVALID_NUMBER = 0  # index of invalid_number in faults.FAILURE_REASONS: what an undelivered API send looked like
SENDS_FILE = "sends.jsonl"


class LedgerError(NightshiftError):
    """The channel simulator's ledger cannot be read."""


def ledger_statuses(ledger_dir: Path) -> dict[str, str]:
    """Ledger key -> its final status in the simulator's ledger (`sends.jsonl`: one JSON object per line with at
    least `key` and `status`). A key accepted once stays accepted whatever a later line says: a vendor does not
    take a delivered message back."""
    path = Path(ledger_dir) / SENDS_FILE
    if not path.is_file():
        raise LedgerError(
            f"no channel ledger at {path}: pass the --ledger directory `nightshift simulate channels` wrote"
        )
    statuses: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key, status = str(record["key"]), str(record["status"])
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise LedgerError(
                    f"{path}:{number}: not a ledger record ({error}); expected {{key, status, ...}}"
                ) from error
            if status not in (ACCEPTED, UNDELIVERED, FAILED):
                raise LedgerError(f"{path}:{number}: status {status!r} is none of accepted, undelivered, failed")
            if statuses.get(key) != ACCEPTED:
                statuses[key] = status
    return statuses


def contact_statuses(exports_day_dir: Path, ledger_dir: Path) -> dict[str, str]:
    """contact_id -> its status in the simulator's ledger ('' when the simulator never took it), for every contact
    of the day's sealed API payloads (`<campaign>/<channel>/part-*.jsonl` beside `_SUCCESS`; each line names its
    contact_ids in recipient order)."""
    by_key = ledger_statuses(ledger_dir)
    statuses: dict[str, str] = {}
    for channel in API_CHANNELS:
        for path in sorted(Path(exports_day_dir).glob(f"*/{channel}/part-*.jsonl")):
            if not (path.parent / "_SUCCESS").is_file():
                continue  # an unsealed delivery is never sent
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                body = record["body"]
                contact_ids = record.get("contact_ids") or [record.get("contact_id") or body.get("client_msg_id")]
                for contact_id, key in zip(contact_ids, recipient_keys(channel, body, contact_ids), strict=True):
                    statuses[str(contact_id)] = by_key.get(key, "")
    return statuses


def answer_from_ledger(contacts: Contacts, draws: Draws, statuses: dict[str, str]) -> tuple[Draws, np.ndarray]:
    """The draws with the API payloads' delivery outcomes taken from the ledger (`statuses`: every contact of the
    day's API payloads), and which contacts were really sent (get a receipt if their channel has receipts)."""
    by_api = np.array([key in statuses for key in contacts.contact_id.tolist()], dtype=bool)
    status = np.array([statuses.get(key, "") for key in contacts.contact_id.tolist()], dtype=object)
    accepted, undelivered, refused = status == ACCEPTED, status == UNDELIVERED, status == FAILED
    answered = replace(
        draws,
        delivery_failed=np.where(by_api, undelivered | refused, draws.delivery_failed),
        receipt_late=np.where(by_api, accepted & draws.receipt_late, draws.receipt_late),
        failure_reason=np.where(by_api, INVALID_NUMBER, draws.failure_reason),
        via_chuanglan=np.where(by_api, False, draws.via_chuanglan),
    )
    sent = ~by_api | accepted | undelivered
    return answered, sent
