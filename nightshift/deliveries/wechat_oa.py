"""WeChat Official Account template messages (`cgi-bin/message/template/send`), one body per follower.

WeChat allows template messages for service notices only (the plan's `purpose` must be `service`; plan
validation refuses anything else on this channel). `touser` is the subscribed openid (`contact_ref`),
`client_msg_id` the contact_id: WeChat drops a second send with the same id, so a retried send never reaches the
person twice. `data` holds the template parameters as `{name: {"value": text}}`; `url` or `miniprogram` come from
the plan's template when set.

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "body": <template message>}`, built column by
column (`columnar.py`).
"""

from __future__ import annotations

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
from nightshift.deliveries.common import CONTACTS_PER_PART, Payload

# An Official Account openid: URL-safe letters, digits, '-' and '_' (WeChat's are 28 long; the shape, not the
# length, is checked, since WeChat does not publish the length as a rule). The optional final newline is what
# Python's `re.match(r"...$")` let through before the writer was columnar: kept so the files stay the same.
OPENID = r"^[A-Za-z0-9_-]{1,64}\n?$"
INVALID_OPENID = "invalid_openid"
# WeChat's client_msg_id is at most 32 characters; a contact_id is 32 hex digits.
CLIENT_MSG_ID_MAX = 32
PARAM_PREFIX = "param_"


def template_message(params: list[str], plan: CampaignPlan) -> dict:
    """A template message with holes for the follower, the contact_id and each parameter (`json_template`)."""
    body: dict = {
        "touser": string_hole("touser"),
        "template_id": plan.template.id,
        "data": {name: {"value": string_hole(f"p{index}")} for index, name in enumerate(params)},
        "client_msg_id": string_hole("client_msg_id"),
    }
    if plan.template.url:
        body["url"] = plan.template.url
    if plan.template.miniprogram is not None:
        body["miniprogram"] = plan.template.miniprogram.model_dump()
    return body


def client_msg_ids(contact_ids: pa.StringArray) -> pa.StringArray:
    # byte length bounds the character length: only a longer id is cut (by characters, as str slicing does)
    if not pc.any(pc.greater(pc.binary_length(contact_ids), CLIENT_MSG_ID_MAX)).as_py():
        return contact_ids
    return pc.utf8_slice_codeunits(contact_ids, 0, CLIENT_MSG_ID_MAX)


def wechat_oa_payload(audience: Audience, plan: CampaignPlan) -> Payload:
    payload = Payload()
    table = audience_table(audience)
    if table.num_rows == 0:
        return payload
    params = [name for name in table.column_names if name.startswith(PARAM_PREFIX)]
    order = sort_order([ranks(text(table, "send_at"))], row_ids(table))
    table = table.select(["contact_id", "contact_ref", "send_at", *params]).take(order)
    is_openid = pc.match_substring_regex(text(table, "contact_ref"), OPENID).to_numpy(zero_copy_only=False)
    payload.rejected = dict.fromkeys(text(table, "contact_id").filter(pa.array(~is_openid)).to_pylist(), INVALID_OPENID)
    table = table.filter(pa.array(is_openid)) if not is_openid.all() else table
    payload.contacts = table.num_rows
    envelope = {
        "send_at": string_hole("send_at"),
        "body": template_message([name.removeprefix(PARAM_PREFIX) for name in params], plan),
    }
    pieces, names = json_template(envelope)
    pieces[-1] += "\n"  # each line ends with its newline

    def lines(offset: int, length: int) -> pa.StringArray:
        rows = table.slice(offset, length)
        columns = {
            "send_at": json_contents(china_times(text(rows, "send_at"))),
            "touser": json_contents(text(rows, "contact_ref")),
            "client_msg_id": json_contents(client_msg_ids(text(rows, "contact_id"))),
            **{f"p{index}": json_contents(text(rows, name)) for index, name in enumerate(params)},
        }
        return rendered(pieces, [columns[name] for name in names], length)

    payload.parts = [("jsonl", part) for part in rendered_parts(table.num_rows, CONTACTS_PER_PART, lines)]
    return payload
