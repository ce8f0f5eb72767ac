"""The simulator's ledger: `sends.jsonl` (one line per recipient the simulator took a message for) and
`calls.jsonl` (one line per API call, whatever its outcome).

A send line is `{channel, key, address, status, vendor_code, vendor_message_id, accepted_at}` with status
`accepted` (delivered), `undelivered` (taken by the API, then not delivered: the receipt will say so) or `failed`
(refused at once, e.g. WeChat 43004). The ledger never deduplicates: a message sent twice is two lines, which is
what the exactly-once tests look for. A repeated idempotency key is answered by the simulator from its memory and
shows up only in `calls.jsonl` (outcome `repeat`).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nightshift.contracts import batch_key, wecom_tag_key

SENDS = "sends.jsonl"
CALLS = "calls.jsonl"
TAKEN = ("accepted", "undelivered")


def recipient_key(batch: str, address: str) -> str:
    """The ledger key of one recipient of a batched call: the batch's idempotency key (SMS `OutId`, JPush `cid`)
    and the recipient's address."""
    return f"{batch}/{address}"


def recipient_keys(channel: str, body: dict, contact_ids: list[str] | None = None) -> list[str]:
    """The ledger key of each recipient of one API request body, in the body's recipient order: SMS
    `<OutId>/<phone>`, push `<cid>/<alias>` (the body's cid, else the batch key of its contact_ids, which is what
    the deliver stage sends as cid), WeChat the `client_msg_id` (the contact_id), WeCom `contracts.wecom_tag_key`."""
    if channel == "sms":
        return [recipient_key(body["OutId"], phone) for phone in json.loads(body["PhoneNumberJson"])]
    if channel == "app_push":
        cid = body.get("cid") or batch_key([str(contact) for contact in contact_ids or []])
        return [recipient_key(cid, alias) for alias in body["audience"]["alias"]]
    if channel == "wechat_oa_template":
        return [str(body["client_msg_id"])]
    return [wecom_tag_key(body["userid"], body["external_userid"], body.get("add_tag"))]


# When the request being handled arrived (set by the app's middleware): a call is logged at its arrival, the moment
# a vendor's rate limit counts, not when its answer went out.
ARRIVED: ContextVar[str | None] = ContextVar(
    "arrived", default=None
)  # the vendor took the message: a second one would reach the person twice


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Ledger:
    """Appends to the two files, one line per record, flushed at once (a test reads them while the simulator runs)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._sends = (self.directory / SENDS).open("a", encoding="utf-8")
        self._calls = (self.directory / CALLS).open("a", encoding="utf-8")

    def _append(self, handle, records: list[dict]) -> None:
        lines = "".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records)
        with self._lock:
            handle.write(lines)
            handle.flush()

    def send(self, channel: str, key: str, address: str, status: str, vendor_code: str, message_id: str) -> None:
        self.sends(channel, [(key, address, status, vendor_code, message_id)])

    def sends(self, channel: str, recipients: list[tuple[str, str, str, str, str]]) -> None:
        """One line per (key, address, status, vendor_code, vendor_message_id), written together (a push of 1,000
        aliases is one write)."""
        moment = now_text()
        records = [{"channel": channel, "key": key, "address": address, "status": status, "vendor_code": code,
                    "vendor_message_id": message_id, "accepted_at": moment}
                   for key, address, status, code, message_id in recipients]  # fmt: skip
        self._append(self._sends, records)

    def call(self, channel: str, endpoint: str, http_status: int, code: str, outcome: str) -> None:
        record = {"at": ARRIVED.get() or now_text(), "channel": channel, "endpoint": endpoint,
                  "http_status": http_status, "code": code, "outcome": outcome}  # fmt: skip
        self._append(self._calls, [record])

    def close(self) -> None:
        with self._lock:
            self._sends.close()
            self._calls.close()


@dataclass
class LedgerContents:
    sends: list[dict]
    calls: list[dict]

    def taken_per_address(self, channel: str) -> Counter:
        """How many times each address of the channel was handed a message (exactly once is 1 everywhere)."""
        return Counter(s["address"] for s in self.sends if s["channel"] == channel and s["status"] in TAKEN)

    def busiest_second(self, channel: str, endpoint: str | None = None) -> int:
        """The most calls to the channel's send endpoint(s) within any window of one second (sliding, by the
        simulator's arrival timestamps)."""
        moments = sorted(
            datetime.fromisoformat(call["at"]).timestamp()
            for call in self.calls
            if call["channel"] == channel and call["endpoint"] != "token" and endpoint in (None, call["endpoint"])
        )
        busiest, start = 0, 0
        for end, moment in enumerate(moments):
            while moment - moments[start] >= 1.0:
                start += 1
            busiest = max(busiest, end - start + 1)
        return busiest


def read_ledger(directory: Path) -> LedgerContents:
    """Both files of a ledger directory as lists of dicts (empty when a file is missing); a line cut short by a
    crash is skipped."""

    def lines(name: str) -> list[dict]:
        path = Path(directory) / name
        if not path.exists():
            return []
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    return LedgerContents(sends=lines(SENDS), calls=lines(CALLS))
