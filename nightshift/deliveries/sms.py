"""SMS: Aliyun `SendBatchSms` request bodies (`.jsonl`) and the Chuanglan variable-SMS import (`.csv`).

Aliyun takes at most 100 numbers per call, with one sign name and one parameter object per number, all as JSON
text in the request parameters. `OutId` comes back in every delivery report but is ONE string per call (under 256
characters), so it cannot hold 100 contact_ids: it is the batch's key (the first 32 hex digits of the sha256 of
its contact_ids joined by ","), and the envelope lists the batch's `contact_ids` in the order of
`PhoneNumberJson`, so a receipt's (OutId, phone number) finds its contact_id. Aliyun does not deduplicate: a
request must be sent once, never replayed; the batch key lets a sender record what it already sent.

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "contact_ids": [...], "body": <SendBatchSms
parameters>}`: the body is exactly what the API takes, the envelope says when to send it and to whom.

The Chuanglan `.csv` carries the same contacts (mobile, uid = contact_id, send time, template parameters): the
two layouts are alternatives for one audience, so a delivery job sends one vendor's files for a campaign, never
both.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from itertools import groupby

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.common import (
    CONTACTS_PER_PART,
    INVALID_MOBILE,
    Payload,
    Row,
    china_time,
    chunks,
    in_send_order,
    mainland_mobile,
    send_instant,
    sha256_hex,
    template_params,
)

ALIYUN_NUMBERS_PER_REQUEST = 100
ALIYUN_REQUESTS_PER_PART = CONTACTS_PER_PART // ALIYUN_NUMBERS_PER_REQUEST
CHUANGLAN_BASE_COLUMNS = ["mobile", "uid", "send_time"]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def aliyun_request(batch: Sequence[tuple[str, Row]], plan: CampaignPlan) -> dict[str, str]:
    """One SendBatchSms request body for up to 100 (mobile, row) pairs of one send time."""
    if len(batch) > ALIYUN_NUMBERS_PER_REQUEST:
        raise ValueError(f"SendBatchSms takes at most {ALIYUN_NUMBERS_PER_REQUEST} numbers, got {len(batch)}")
    return {
        "PhoneNumberJson": _json([mobile for mobile, _ in batch]),
        "SignNameJson": _json([plan.template.sign_name] * len(batch)),
        "TemplateCode": plan.template.id,
        "TemplateParamJson": _json([template_params(row) for _, row in batch]),
        "OutId": batch_key([str(row["contact_id"]) for _, row in batch]),
    }


def batch_key(contact_ids: Sequence[str]) -> str:
    return sha256_hex(",".join(contact_ids))[:32]


def _sendable(rows: Sequence[Row], payload: Payload) -> list[tuple[str, Row]]:
    sendable = []
    for row in in_send_order(rows):
        mobile = mainland_mobile(row["contact_ref"])
        if mobile is None:
            payload.rejected[str(row["contact_id"])] = INVALID_MOBILE
        else:
            sendable.append((mobile, row))
    return sendable


def aliyun_lines(sendable: list[tuple[str, Row]], plan: CampaignPlan) -> list[str]:
    lines = []
    for send_at, group in groupby(sendable, key=lambda pair: pair[1]["send_at"]):
        local = china_time(send_instant({"send_at": send_at}))
        for batch in chunks(list(group), ALIYUN_NUMBERS_PER_REQUEST):
            contact_ids = [str(row["contact_id"]) for _, row in batch]
            envelope = {"send_at": local, "contact_ids": contact_ids, "body": aliyun_request(batch, plan)}
            lines.append(_json(envelope))
    return lines


def chuanglan_csv(sendable: list[tuple[str, Row]]) -> bytes:
    params = list(template_params(sendable[0][1])) if sendable else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CHUANGLAN_BASE_COLUMNS + params)
    for mobile, row in sendable:
        values = template_params(row)
        writer.writerow([mobile, row["contact_id"], china_time(send_instant(row)), *(values[p] for p in params)])
    return buffer.getvalue().encode("utf-8")


def sms_payload(rows: Sequence[Row], plan: CampaignPlan) -> Payload:
    payload = Payload()
    sendable = _sendable(rows, payload)
    payload.contacts = len(sendable)
    for lines in chunks(aliyun_lines(sendable, plan), ALIYUN_REQUESTS_PER_PART):
        payload.parts.append(("jsonl", ("\n".join(lines) + "\n").encode("utf-8")))
    for part in chunks(sendable, CONTACTS_PER_PART):
        payload.parts.append(("csv", chuanglan_csv(list(part))))
    return payload
