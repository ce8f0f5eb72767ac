"""App push: JPush v3 push bodies (`POST /v3/push`), at most 1,000 aliases per push, one platform per push.

The audience is the app account (`contact_ref`, the JPush alias, at most 40 bytes). A push body carries one text
for all its targets, so pushes are grouped by send time, platform and variant (the copy being tested); per-person
template parameters cannot ride in a batch push and are left out (they stay in the campaign CSV).

Each `.jsonl` line is `{"send_at": <Asia/Shanghai local time>, "contact_ids": [...], "body": <push body>}`; the
contact_ids follow the order of `body.audience.alias`. The send time is what a scheduled push
(`/v3/schedules`, trigger time in GMT+8) takes, so the body can be sent at once or wrapped in a schedule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.common import (
    CONTACTS_PER_PART,
    NO_ADDRESS,
    Payload,
    Row,
    china_time,
    chunks,
    send_instant,
)

JPUSH_ALIASES_PER_PUSH = 1_000
JPUSH_ALIAS_MAX_BYTES = 40
PUSHES_PER_PART = CONTACTS_PER_PART // JPUSH_ALIASES_PER_PUSH
INVALID_ALIAS = "invalid_jpush_alias"
# profile device_os -> JPush platform; an unknown device gets a push addressed to every platform
JPUSH_PLATFORMS = {"ios": "ios", "android": "android", "harmonyos": "hmos"}
ALL_PLATFORMS = "all"
# how long JPush keeps a push for an offline device (seconds): a day, since a campaign message goes stale
TIME_TO_LIVE_SECONDS = 86_400


def jpush_platform(row: Row) -> str:
    return JPUSH_PLATFORMS.get(str(row.get("device_os") or ""), ALL_PLATFORMS)


def push_body(aliases: Sequence[str], platform: str, variant: str, plan: CampaignPlan) -> dict:
    if len(aliases) > JPUSH_ALIASES_PER_PUSH:
        raise ValueError(f"a JPush push takes at most {JPUSH_ALIASES_PER_PUSH} aliases, got {len(aliases)}")
    extras = {"campaign_id": plan.id, "template_id": plan.template.id, "variant": variant}
    return {
        "platform": platform if platform == ALL_PLATFORMS else [platform],
        "audience": {"alias": list(aliases)},
        "notification": {"alert": plan.template.id, **_platform_extras(platform, extras)},
        "options": {"time_to_live": TIME_TO_LIVE_SECONDS, "apns_production": True},
    }


def _platform_extras(platform: str, extras: dict) -> dict:
    targets = ["android", "ios", "hmos"] if platform == ALL_PLATFORMS else [platform]
    return {target: {"alert": extras["template_id"], "extras": extras} for target in targets}


def _group_key(row: Row) -> tuple[str, str, str]:
    return (str(row["send_at"]), jpush_platform(row), str(row["variant"]))


def app_push_payload(rows: Sequence[Row], plan: CampaignPlan) -> Payload:
    payload = Payload()
    sendable = []
    for row in rows:
        alias = str(row["contact_ref"] or "")
        if not alias:
            payload.rejected[str(row["contact_id"])] = NO_ADDRESS
        elif len(alias.encode("utf-8")) > JPUSH_ALIAS_MAX_BYTES:
            payload.rejected[str(row["contact_id"])] = INVALID_ALIAS
        else:
            sendable.append(row)
    sendable.sort(key=lambda row: (*_group_key(row), int(row["one_id"])))
    payload.contacts = len(sendable)
    lines = []
    for (send_at, platform, variant), group in groupby(sendable, key=_group_key):
        local = china_time(send_instant({"send_at": send_at}))
        for batch in chunks(list(group), JPUSH_ALIASES_PER_PUSH):
            body = push_body([str(row["contact_ref"]) for row in batch], platform, variant, plan)
            envelope = {"send_at": local, "contact_ids": [str(row["contact_id"]) for row in batch], "body": body}
            lines.append(json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    for part in chunks(lines, PUSHES_PER_PART):
        payload.parts.append(("jsonl", ("\n".join(part) + "\n").encode("utf-8")))
    return payload
