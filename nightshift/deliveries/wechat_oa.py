"""WeChat Official Account template messages (`cgi-bin/message/template/send`), one body per follower.

WeChat allows template messages for service notices only (the plan's `purpose` must be `service`; plan
validation refuses anything else on this channel). `touser` is the subscribed openid (`contact_ref`),
`client_msg_id` the contact_id: WeChat drops a second send with the same id, so a retried send never reaches the
person twice. `data` holds the template parameters as `{name: {"value": text}}`; `url` or `miniprogram` come from
the plan's template when set.

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "body": <template message>}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.common import (
    CONTACTS_PER_PART,
    Payload,
    Row,
    china_time,
    chunks,
    in_send_order,
    send_instant,
    template_params,
)

# An Official Account openid: URL-safe letters, digits, '-' and '_' (WeChat's are 28 long; the shape, not the
# length, is checked, since WeChat does not publish the length as a rule).
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
INVALID_OPENID = "invalid_openid"
# WeChat's client_msg_id is at most 32 characters; a contact_id is 32 hex digits.
CLIENT_MSG_ID_MAX = 32


def template_message(row: Row, plan: CampaignPlan) -> dict:
    body: dict = {
        "touser": str(row["contact_ref"]),
        "template_id": plan.template.id,
        "data": {name: {"value": value} for name, value in template_params(row).items()},
        "client_msg_id": str(row["contact_id"])[:CLIENT_MSG_ID_MAX],
    }
    if plan.template.url:
        body["url"] = plan.template.url
    if plan.template.miniprogram is not None:
        body["miniprogram"] = plan.template.miniprogram.model_dump()
    return body


def wechat_oa_payload(rows: Sequence[Row], plan: CampaignPlan) -> Payload:
    payload = Payload()
    lines = []
    for row in in_send_order(rows):
        if not OPENID.match(str(row["contact_ref"] or "")):
            payload.rejected[str(row["contact_id"])] = INVALID_OPENID
            continue
        envelope = {"send_at": china_time(send_instant(row)), "body": template_message(row, plan)}
        lines.append(json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    payload.contacts = len(lines)
    for part in chunks(lines, CONTACTS_PER_PART):
        payload.parts.append(("jsonl", ("\n".join(part) + "\n").encode("utf-8")))
    return payload
