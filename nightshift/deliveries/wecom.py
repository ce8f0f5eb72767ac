"""WeCom: `externalcontact/mark_tag` bodies, grouped per staff member who owns the contact.

WeCom tags an external contact through the staff member who added it: each body names that staff member
(`userid`, the profile's `wecom_owner_userid`), the contact (`external_userid`, the contact_ref) and the corp tag
to add (`add_tag`: the plan's `template.wecom_tag_id`, else its template id). The call takes one contact at a
time, so bodies are grouped by staff member: one staff member's tagging is one run of lines, in userid order.

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "contact_id": ..., "body": <mark_tag body>}`, built
column by column (`columnar.py`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.columnar import (
    Audience,
    audience_table,
    china_times,
    json_contents,
    json_template,
    ranks,
    rendered,
    rendered_parts,
    row_ids,
    sort_order,
    string_hole,
    text,
)
from nightshift.deliveries.common import CONTACTS_PER_PART, NO_ADDRESS, Payload

NO_OWNER = "no_wecom_owner"


def mark_tag_body(plan: CampaignPlan) -> dict:
    """A mark_tag body with holes for the staff member and the contact (`columnar.json_template`)."""
    return {
        "userid": string_hole("userid"),
        "external_userid": string_hole("external_userid"),
        "add_tag": [plan.template.wecom_tag_id or plan.template.id],
        "remove_tag": [],
    }


def wecom_payload(audience: Audience, plan: CampaignPlan) -> Payload:
    payload = Payload()
    table = audience_table(audience)
    if table.num_rows == 0:
        return payload
    no_address = pc.equal(text(table, "contact_ref"), "").to_numpy(zero_copy_only=False)
    no_owner = pc.equal(text(table, "wecom_owner_userid"), "").to_numpy(zero_copy_only=False)
    unfit = np.flatnonzero(no_address | no_owner)
    reasons = np.where(no_address[unfit], NO_ADDRESS, NO_OWNER).tolist()
    payload.rejected = dict(zip(text(table, "contact_id").take(unfit).to_pylist(), reasons, strict=True))
    table = table.filter(pa.array(~(no_address | no_owner))) if unfit.size else table
    payload.contacts = table.num_rows
    if table.num_rows == 0:
        return payload
    owners, send_at = text(table, "wecom_owner_userid"), text(table, "send_at")
    order = sort_order([ranks(owners), ranks(send_at)], row_ids(table))
    table = table.select(["contact_id", "contact_ref", "send_at", "wecom_owner_userid"]).take(order)
    envelope = {"send_at": string_hole("send_at"), "contact_id": string_hole("contact_id"), "body": mark_tag_body(plan)}
    pieces, names = json_template(envelope)
    pieces[-1] += "\n"  # each line ends with its newline

    def lines(offset: int, length: int) -> pa.StringArray:
        rows = table.slice(offset, length)
        columns = {
            "send_at": json_contents(china_times(text(rows, "send_at"))),
            "contact_id": json_contents(text(rows, "contact_id")),
            "userid": json_contents(text(rows, "wecom_owner_userid")),
            "external_userid": json_contents(text(rows, "contact_ref")),
        }
        return rendered(pieces, [columns[name] for name in names], length)

    payload.parts = [("jsonl", part) for part in rendered_parts(table.num_rows, CONTACTS_PER_PART, lines)]
    return payload
