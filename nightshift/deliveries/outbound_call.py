"""Outbound call: the call centre's call-list CSV, one row per person to call.

Columns: `phone` (11 digits, no +86), `name` (empty: no source gives a verified name), `script_id` (the plan's
template), `priority` (the plan's priority: higher is called first), `call_from` and `call_until` (the best call
window: from the planned send time to the end of the plan's send window on the person's local day, both in
Asia/Shanghai time, which the call centre's dialler reads), `list_row_id` (the contact_id, which the call
results echo).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

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
    window_end,
)

CALL_LIST_COLUMNS = ["phone", "name", "script_id", "priority", "call_from", "call_until", "list_row_id"]


def call_list_csv(callable_rows: Sequence[tuple[str, Row]], plan: CampaignPlan) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CALL_LIST_COLUMNS)
    for phone, row in callable_rows:
        until = window_end(row, plan.send_window.end)
        writer.writerow(
            [phone, "", plan.template.id, plan.priority, china_time(send_instant(row)), china_time(until),
             row["contact_id"]]
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8")


def outbound_call_payload(rows: Sequence[Row], plan: CampaignPlan) -> Payload:
    payload = Payload()
    callable_rows = []
    for row in in_send_order(rows):
        phone = mainland_mobile(row["contact_ref"])
        if phone is None:
            payload.rejected[str(row["contact_id"])] = INVALID_MOBILE
        else:
            callable_rows.append((phone, row))
    payload.contacts = len(callable_rows)
    for part in chunks(callable_rows, CONTACTS_PER_PART):
        payload.parts.append(("csv", call_list_csv(part, plan)))
    return payload
