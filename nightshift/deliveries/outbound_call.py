"""Outbound call: the call centre's call-list CSV, one row per person to call.

Columns: `phone` (11 digits, no +86), `name` (empty: no source gives a verified name), `script_id` (the plan's
template), `priority` (the plan's priority: higher is called first), `call_from` and `call_until` (the best call
window: from the planned send time to the end of the plan's send window on the person's local day, both in
Asia/Shanghai time, which the call centre's dialler reads), `list_row_id` (the contact_id, which the call
results echo). Built column by column (`columnar.py`); the window's end is worked out once per distinct (time
zone, send time).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.columnar import (
    Audience,
    audience_table,
    china_times,
    csv_field,
    csv_fields,
    mainland_mobiles,
    ranks,
    rendered,
    rendered_parts,
    row_ids,
    sort_order,
    text,
)
from nightshift.deliveries.common import CONTACTS_PER_PART, INVALID_MOBILE, Payload, china_time, window_end

CALL_LIST_COLUMNS = ["phone", "name", "script_id", "priority", "call_from", "call_until", "list_row_id"]


def call_until(timezones: pa.StringArray, send_at: pa.StringArray, plan: CampaignPlan) -> pa.StringArray:
    """The end of each person's call window in Asia/Shanghai time, computed once per distinct (zone, send time)."""
    zones, times = pc.dictionary_encode(timezones), pc.dictionary_encode(send_at)
    width = len(times.dictionary)
    pairs = zones.indices.to_numpy(zero_copy_only=False).astype(np.int64) * width + times.indices.to_numpy(
        zero_copy_only=False
    )
    distinct, rows = np.unique(pairs, return_inverse=True)
    zone_names, time_texts = zones.dictionary.to_pylist(), times.dictionary.to_pylist()
    ends = [
        csv_field(china_time(window_end({"timezone": zone_names[pair // width], "send_at": time_texts[pair % width]},
                                        plan.send_window.end)))
        for pair in distinct.tolist()
    ]  # fmt: skip
    return pa.array(ends, pa.string()).take(pa.array(rows))


def outbound_call_payload(audience: Audience, plan: CampaignPlan) -> Payload:
    payload = Payload()
    table = audience_table(audience)
    if table.num_rows == 0:
        return payload
    order = sort_order([ranks(text(table, "send_at"))], row_ids(table))
    table = table.select(["contact_id", "contact_ref", "send_at", "timezone"]).take(order)
    phones = mainland_mobiles(text(table, "contact_ref", null=None))
    is_mobile = phones.is_valid().to_numpy(zero_copy_only=False)
    payload.rejected = dict.fromkeys(text(table, "contact_id").filter(pa.array(~is_mobile)).to_pylist(), INVALID_MOBILE)
    if not is_mobile.all():
        table, phones = table.filter(pa.array(is_mobile)), phones.filter(pa.array(is_mobile))
    payload.contacts = table.num_rows
    constant = f",,{csv_field(plan.template.id)},{csv_field(str(plan.priority))},"
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(CALL_LIST_COLUMNS)

    def lines(offset: int, length: int) -> pa.StringArray:
        rows = table.slice(offset, length)
        send_at = text(rows, "send_at")
        columns = [
            phones.slice(offset, length),
            csv_fields(china_times(send_at)),
            call_until(text(rows, "timezone"), send_at, plan),
            csv_fields(text(rows, "contact_id")),
        ]
        return rendered(["", constant, ",", ",", "\n"], columns, length)

    payload.parts = [
        ("csv", part) for part in rendered_parts(table.num_rows, CONTACTS_PER_PART, lines, header.getvalue())
    ]
    return payload
