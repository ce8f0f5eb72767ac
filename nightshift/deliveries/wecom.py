"""WeCom: `externalcontact/mark_tag` bodies, grouped per staff member who owns the contact.

WeCom tags an external contact through the staff member who added it: each body names that staff member
(`userid`, the profile's `wecom_owner_userid`), the contact (`external_userid`, the contact_ref) and the corp tag
to add (`add_tag`: the plan's `template.wecom_tag_id`, else its template id). The call takes one contact at a
time, so bodies are grouped by staff member: one staff member's tagging is one run of lines, in userid order.

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "contact_id": ..., "body": <mark_tag body>}`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.common import CONTACTS_PER_PART, NO_ADDRESS, Payload, Row, china_time, chunks, send_instant

NO_OWNER = "no_wecom_owner"


def mark_tag_body(row: Row, plan: CampaignPlan) -> dict:
    return {
        "userid": str(row["wecom_owner_userid"]),
        "external_userid": str(row["contact_ref"]),
        "add_tag": [plan.template.wecom_tag_id or plan.template.id],
        "remove_tag": [],
    }


def wecom_payload(rows: Sequence[Row], plan: CampaignPlan) -> Payload:
    payload = Payload()
    taggable = []
    for row in rows:
        if not row["contact_ref"]:
            payload.rejected[str(row["contact_id"])] = NO_ADDRESS
        elif not row.get("wecom_owner_userid"):
            payload.rejected[str(row["contact_id"])] = NO_OWNER
        else:
            taggable.append(row)
    taggable.sort(key=lambda row: (str(row["wecom_owner_userid"]), str(row["send_at"]), int(row["one_id"])))
    payload.contacts = len(taggable)
    lines = [
        json.dumps(
            {
                "send_at": china_time(send_instant(row)),
                "contact_id": str(row["contact_id"]),
                "body": mark_tag_body(row, plan),
            },
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )  # fmt: skip
        for row in taggable
    ]
    for part in chunks(lines, CONTACTS_PER_PART):
        payload.parts.append(("jsonl", ("\n".join(part) + "\n").encode("utf-8")))
    return payload
