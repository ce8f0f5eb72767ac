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

Both are built column by column (`columnar.py`): the JSON inside `TemplateParamJson` is JSON text inside a JSON
string, so its values are escaped twice.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.columnar import (
    Audience,
    audience_table,
    batch_offsets,
    china_times,
    csv_fields,
    joined,
    json_contents,
    json_escaped,
    json_template,
    mainland_mobiles,
    ranks,
    raw_hole,
    rendered,
    rendered_parts,
    row_ids,
    sort_order,
    string_hole,
    text,
    text_parts,
)
from nightshift.deliveries.common import CONTACTS_PER_PART, INVALID_MOBILE, Payload, sha256_hex

ALIYUN_NUMBERS_PER_REQUEST = 100
ALIYUN_REQUESTS_PER_PART = CONTACTS_PER_PART // ALIYUN_NUMBERS_PER_REQUEST
CHUANGLAN_BASE_COLUMNS = ["mobile", "uid", "send_time"]
PARAM_PREFIX = "param_"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def batch_key(contact_ids: Sequence[str]) -> str:
    return sha256_hex(",".join(contact_ids))[:32]


@dataclass
class Sendable:
    """The contacts with a mainland mobile, in send order (send time, then one_id): one value per contact."""

    mobiles: pa.StringArray
    contact_ids: pa.StringArray
    send_ranks: np.ndarray  # batches never mix send times
    local_times: pa.StringArray  # send_at in Asia/Shanghai time
    params: dict[str, pa.StringArray]  # template parameter name -> values, in the export's column order


def _sendable(audience: Audience, payload: Payload) -> Sendable | None:
    table = audience_table(audience)
    if table.num_rows == 0:
        return None
    send_at = text(table, "send_at")
    send_ranks = ranks(send_at)
    order = sort_order([send_ranks], row_ids(table))
    mobiles = mainland_mobiles(text(table, "contact_ref", null=None))
    is_mobile = mobiles.is_valid().to_numpy(zero_copy_only=False)[order]
    contact_ids = text(table, "contact_id")
    payload.rejected = dict.fromkeys(contact_ids.take(order[~is_mobile]).to_pylist(), INVALID_MOBILE)
    rows = order[is_mobile]
    if not rows.size:
        return None
    params = [name for name in table.column_names if name.startswith(PARAM_PREFIX)]
    return Sendable(
        mobiles=mobiles.take(rows),
        contact_ids=contact_ids.take(rows),
        send_ranks=send_ranks[rows],
        local_times=china_times(send_at.take(rows)),
        params={name.removeprefix(PARAM_PREFIX): text(table, name).take(rows) for name in params},
    )


def _template_param_elements(sendable: Sendable) -> pa.StringArray:
    """Each contact's `TemplateParamJson` element ({name: value}, sorted keys) as it reads inside the JSON string
    `TemplateParamJson`: the object's JSON text, escaped once more."""
    holes = {f"p{index}": values for index, values in enumerate(sendable.params.values())}
    names = dict(zip(holes, sendable.params, strict=True))
    pieces, order = json_template({names[hole]: string_hole(hole) for hole in holes})
    columns = [json_contents(holes[hole], depth=2) for hole in order]
    return rendered([json_escaped(piece) for piece in pieces], columns, len(sendable.contact_ids))


def aliyun_lines(sendable: Sendable, plan: CampaignPlan) -> pa.StringArray:
    """One SendBatchSms envelope per batch of at most 100 numbers of one send time."""
    offsets = batch_offsets([sendable.send_ranks], ALIYUN_NUMBERS_PER_REQUEST)
    envelope = {
        "send_at": string_hole("send_at"),
        "contact_ids": raw_hole("contact_ids"),
        "body": {
            "PhoneNumberJson": string_hole("phones"),
            "SignNameJson": string_hole("signs"),
            "TemplateCode": plan.template.id,
            "TemplateParamJson": string_hole("params"),
            "OutId": string_hole("out_id"),
        },
    }
    pieces, names = json_template(envelope)
    escaped_sign = json_escaped(_json(plan.template.sign_name))
    signs = {size: f"[{','.join([escaped_sign] * size)}]" for size in set(np.diff(offsets).tolist())}
    # 11-digit numbers need no escaping: '["1..","1.."]' inside a JSON string is '[\"1..\",\"1..\"]'
    batches = {
        "phones": rendered(['[\\"', '\\"]'], [joined(sendable.mobiles, offsets, '\\",\\"')], 0),
        "signs": pa.array([signs[size] for size in np.diff(offsets).tolist()], pa.string()),
        "params": rendered(["[", "]"], [joined(_template_param_elements(sendable), offsets, ",")], 0),
        "out_id": pa.array([batch_key([ids]) for ids in joined(sendable.contact_ids, offsets, ",").to_pylist()]),
        "contact_ids": rendered(['["', '"]'], [joined(json_contents(sendable.contact_ids), offsets, '","')], 0),
        "send_at": json_contents(sendable.local_times.take(offsets[:-1])),
    }
    return rendered([*pieces[:-1], pieces[-1] + "\n"], [batches[name] for name in names], 0)


def chuanglan_parts(sendable: Sendable) -> list[bytes]:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(CHUANGLAN_BASE_COLUMNS + list(sendable.params))
    columns = [sendable.mobiles, sendable.contact_ids, sendable.local_times, *sendable.params.values()]

    def lines(offset: int, length: int) -> pa.StringArray:
        mobiles, *others = (column.slice(offset, length) for column in columns)
        return rendered([""] + [","] * len(others) + ["\n"], [mobiles, *map(csv_fields, others)], length)

    return rendered_parts(len(sendable.mobiles), CONTACTS_PER_PART, lines, header.getvalue())


def sms_payload(audience: Audience, plan: CampaignPlan) -> Payload:
    payload = Payload()
    sendable = _sendable(audience, payload)
    if sendable is None:
        return payload
    payload.contacts = len(sendable.contact_ids)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the CSV beside the JSON, on the other core
        chuanglan = pool.submit(chuanglan_parts, sendable)
        aliyun = text_parts(aliyun_lines(sendable, plan), ALIYUN_REQUESTS_PER_PART)
        payload.parts = [("jsonl", part) for part in aliyun] + [("csv", part) for part in chuanglan.result()]
    return payload
