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
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightshift.campaigns.models import CampaignPlan
from nightshift.contracts import batch_key
from nightshift.deliveries.columnar import (
    Audience,
    audience_table,
    batch_offsets,
    china_times,
    csv_fields,
    in_parallel,
    joined,
    json_contents,
    json_escaped,
    json_template,
    mainland_mobiles,
    ranks,
    raw_hole,
    rendered,
    row_ids,
    sort_order,
    string_hole,
    text,
    text_parts,
)
from nightshift.deliveries.common import CONTACTS_PER_PART, INVALID_MOBILE, Payload

ALIYUN_NUMBERS_PER_REQUEST = 100
ALIYUN_REQUESTS_PER_PART = CONTACTS_PER_PART // ALIYUN_NUMBERS_PER_REQUEST
CHUANGLAN_BASE_COLUMNS = ["mobile", "uid", "send_time"]
PARAM_PREFIX = "param_"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass
class Sendable:
    """The contacts with a mainland mobile, in send order (send time, then one_id): one value per contact."""

    mobiles: pa.StringArray
    contact_ids: pa.StringArray
    send_ranks: np.ndarray  # batches never mix send times
    local_times: pa.StringArray  # send_at in Asia/Shanghai time
    params: dict[str, pa.StringArray]  # template parameter name -> values, in the export's column order

    def slice(self, start: int, end: int) -> Sendable:
        """Contacts [start, end): views, no copy."""
        return Sendable(
            mobiles=self.mobiles.slice(start, end - start),
            contact_ids=self.contact_ids.slice(start, end - start),
            send_ranks=self.send_ranks[start:end],
            local_times=self.local_times.slice(start, end - start),
            params={name: values.slice(start, end - start) for name, values in self.params.items()},
        )


def _sendable(audience: Audience, payload: Payload) -> Sendable | None:
    table = audience_table(audience)
    if table.num_rows == 0:
        return None
    send_at = pc.dictionary_encode(text(table, "send_at"))  # a handful of send times: sorted and converted once
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


def aliyun_template(plan: CampaignPlan) -> tuple[list[str], list[str]]:
    """The SendBatchSms envelope split at its holes (`columnar.json_template`); the brackets of the lists are moved
    into the pieces, so a hole takes the batch's joined values as they are."""
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
    # 11-digit numbers need no escaping: '["1..","1.."]' inside a JSON string is '[\"1..\",\"1..\"]'
    brackets = {"phones": ('[\\"', '\\"]'), "params": ("[", "]"), "contact_ids": ('["', '"]')}
    for index, name in enumerate(names):
        opening, closing = brackets.get(name, ("", ""))
        pieces[index] += opening
        pieces[index + 1] = closing + pieces[index + 1]
    pieces[-1] += "\n"  # each line ends with its newline
    return pieces, names


def aliyun_part(sendable: Sendable, plan: CampaignPlan) -> bytes:
    """One `.jsonl` part: a SendBatchSms envelope per batch of at most 100 numbers of one send time."""
    offsets = batch_offsets([sendable.send_ranks], ALIYUN_NUMBERS_PER_REQUEST)
    pieces, names = aliyun_template(plan)
    escaped_sign = json_escaped(_json(plan.template.sign_name))
    sizes = np.diff(offsets).tolist()
    signs = {size: f"[{','.join([escaped_sign] * size)}]" for size in set(sizes)}
    batches = {
        "phones": joined(sendable.mobiles, offsets, '\\",\\"'),
        "signs": pa.array([signs[size] for size in sizes], pa.string()),
        "params": joined(_template_param_elements(sendable), offsets, ","),
        "out_id": pa.array([batch_key([ids]) for ids in joined(sendable.contact_ids, offsets, ",").to_pylist()]),
        "contact_ids": joined(json_contents(sendable.contact_ids), offsets, '","'),
        "send_at": json_contents(sendable.local_times.take(offsets[:-1])),
    }
    lines = rendered(pieces, [batches[name] for name in names], 0)
    return text_parts(lines, len(lines))[0]


def chuanglan_part(sendable: Sendable, header: str) -> bytes:
    """One `.csv` part of the Chuanglan import: mobile, uid (contact_id), send time, template parameters."""
    columns = [sendable.contact_ids, sendable.local_times, *sendable.params.values()]
    lines = rendered([""] + [","] * len(columns) + ["\n"], [sendable.mobiles, *map(csv_fields, columns)], 0)
    return text_parts(lines, len(lines), header)[0]


def sms_payload(audience: Audience, plan: CampaignPlan) -> Payload:
    payload = Payload()
    sendable = _sendable(audience, payload)
    if sendable is None:
        return payload
    payload.contacts = count = len(sendable.contact_ids)
    # parts are cut at batch boundaries, so each part batches its contacts as the whole audience would
    batch_starts = batch_offsets([sendable.send_ranks], ALIYUN_NUMBERS_PER_REQUEST).tolist()
    aliyun_bounds = [*batch_starts[:-1:ALIYUN_REQUESTS_PER_PART], count]
    chuanglan_bounds = [*range(0, count, CONTACTS_PER_PART), count]
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(CHUANGLAN_BASE_COLUMNS + list(sendable.params))
    tasks = [partial(aliyun_part, sendable.slice(start, end), plan) for start, end in pairwise(aliyun_bounds)]
    tasks += [
        partial(chuanglan_part, sendable.slice(start, end), header.getvalue())
        for start, end in pairwise(chuanglan_bounds)
    ]
    parts = in_parallel(tasks)
    aliyun_parts = len(aliyun_bounds) - 1
    payload.parts = [("jsonl", part) for part in parts[:aliyun_parts]] + [
        ("csv", part) for part in parts[aliyun_parts:]
    ]
    return payload
