"""App push: JPush v3 push bodies (`POST /v3/push`), at most 1,000 aliases per push, one platform per push.

The audience is the app account (`contact_ref`, the JPush alias, at most 40 bytes). A push body carries one text
for all its targets, so pushes are grouped by send time, platform and variant (the copy being tested); per-person
template parameters cannot ride in a batch push and are left out (they stay in the campaign CSV).

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "contact_ids": [...], "body": <push body>}`; the
contact_ids follow the order of `body.audience.alias`. The send time is what a scheduled push
(`/v3/schedules`, trigger time in GMT+8) takes, so the body can be sent at once or wrapped in a schedule.
The lines are built column by column (`columnar.py`): only the alias and contact_id lists vary within a group.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.columnar import (
    Audience,
    audience_table,
    batch_offsets,
    china_times,
    joined,
    json_contents,
    json_escaped,
    json_template,
    ranks,
    raw_hole,
    row_ids,
    sort_order,
    string_hole,
    text,
    text_parts,
)
from nightshift.deliveries.common import CONTACTS_PER_PART, NO_ADDRESS, Payload

JPUSH_ALIASES_PER_PUSH = 1_000
JPUSH_ALIAS_MAX_BYTES = 40
PUSHES_PER_PART = CONTACTS_PER_PART // JPUSH_ALIASES_PER_PUSH
INVALID_ALIAS = "invalid_jpush_alias"
# profile device_os -> JPush platform; an unknown device gets a push addressed to every platform
JPUSH_PLATFORMS = {"ios": "ios", "android": "android", "harmonyos": "hmos"}
ALL_PLATFORMS = "all"
# how long JPush keeps a push for an offline device (seconds): a day, since a campaign message goes stale
TIME_TO_LIVE_SECONDS = 86_400


def jpush_platforms(device_os: pa.StringArray) -> pa.StringArray:
    encoded = pc.dictionary_encode(device_os)
    platforms = [JPUSH_PLATFORMS.get(device, ALL_PLATFORMS) for device in encoded.dictionary.to_pylist()]
    return pa.array(platforms, pa.string()).take(encoded.indices)


def push_envelope(platform: str, variant: str, plan: CampaignPlan) -> dict:
    """A push line with holes for its send time and its contact_id and alias lists (`columnar.json_template`)."""
    extras = {"campaign_id": plan.id, "template_id": plan.template.id, "variant": variant}
    body = {
        "platform": platform if platform == ALL_PLATFORMS else [platform],
        "audience": {"alias": raw_hole("aliases")},
        "notification": {"alert": plan.template.id, **_platform_extras(platform, extras)},
        "options": {"time_to_live": TIME_TO_LIVE_SECONDS, "apns_production": True},
    }
    return {"send_at": string_hole("send_at"), "contact_ids": raw_hole("contact_ids"), "body": body}


def _platform_extras(platform: str, extras: dict) -> dict:
    targets = ["android", "ios", "hmos"] if platform == ALL_PLATFORMS else [platform]
    return {target: {"alert": extras["template_id"], "extras": extras} for target in targets}


def app_push_payload(audience: Audience, plan: CampaignPlan) -> Payload:
    payload = Payload()
    table = audience_table(audience)
    if table.num_rows == 0:
        return payload
    aliases, contact_ids = text(table, "contact_ref"), text(table, "contact_id")
    too_long = pc.greater(pc.binary_length(aliases), JPUSH_ALIAS_MAX_BYTES).to_numpy(zero_copy_only=False)
    empty = pc.equal(aliases, "").to_numpy(zero_copy_only=False)
    unfit = np.flatnonzero(empty | too_long)
    reasons = np.where(empty[unfit], NO_ADDRESS, INVALID_ALIAS).tolist()
    payload.rejected = dict(zip(contact_ids.take(unfit).to_pylist(), reasons, strict=True))
    table = table.filter(pa.array(~(empty | too_long))) if unfit.size else table
    if table.num_rows == 0:
        return payload
    send_at, variants = text(table, "send_at"), text(table, "variant")
    platforms = jpush_platforms(text(table, "device_os"))
    keys = [ranks(send_at), ranks(platforms), ranks(variants)]
    order = sort_order(keys, row_ids(table))
    payload.contacts = len(order)
    offsets = batch_offsets([key[order] for key in keys], JPUSH_ALIASES_PER_PUSH)
    firsts = order[offsets[:-1]]
    holes = {
        "aliases": joined(json_contents(text(table, "contact_ref").take(order)), offsets, '","').to_pylist(),
        "contact_ids": joined(json_contents(text(table, "contact_id").take(order)), offsets, '","').to_pylist(),
        "send_at": [json_escaped(local) for local in china_times(send_at.take(firsts)).to_pylist()],
    }
    lists = {"aliases", "contact_ids"}  # JSON arrays of strings around the joined contents
    templates: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    lines = []
    groups = zip(platforms.take(firsts).to_pylist(), variants.take(firsts).to_pylist(), strict=True)
    for batch, group in enumerate(groups):
        if group not in templates:
            templates[group] = json_template(push_envelope(*group, plan))
        pieces, names = templates[group]
        values = [f'["{holes[name][batch]}"]' if name in lists else holes[name][batch] for name in names]
        lines.append("".join(piece + value for piece, value in zip(pieces, [*values, "\n"], strict=True)))
    payload.parts = [("jsonl", part) for part in text_parts(pa.array(lines, pa.string()), PUSHES_PER_PART)]
    return payload
