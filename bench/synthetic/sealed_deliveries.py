"""Sealed channel payloads on disk, written by the real writers and `manifest.seal` as the export stage does (for the
delivery tests and `bench.delivery_api`), and the fake credentials those share."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from nightshift.campaigns.contact_id import contact_id
from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries import PROFILE_COLUMNS, WRITERS, write_parts
from nightshift.deliveries.manifest import AudienceDiff, seal

CAMPAIGN = "order_notice"
SEND_TIMES = ("2026-11-20T02:00:00Z", "2026-11-20T11:00:00Z")
# Fake credentials: the tests check that none of them ever reaches a log line, a result row or the ledger.
SECRETS = {
    "ALIYUN_ACCESS_KEY_ID": "LTAI-test-key-id",
    "ALIYUN_ACCESS_KEY_SECRET": "aliyun-secret-3f9c2b",
    "JPUSH_APP_KEY": "jpush-app-key-77",
    "JPUSH_MASTER_SECRET": "jpush-master-secret-a1b2",
    "WECHAT_APP_ID": "wx-app-id-1",
    "WECHAT_SECRET": "wechat-secret-9d8e7f",
    "WECOM_CORP_ID": "ww-corp-id-1",
    "WECOM_SECRET": "wecom-secret-c4d5e6",
}
ADDRESSES = {
    "sms": lambda one_id: f"+86139{one_id:08d}",
    "app_push": lambda one_id: f"user{one_id}",
    "wechat_oa_template": lambda one_id: f"oPenId{one_id:06d}",
    "wecom": lambda one_id: f"wmExt{one_id:06d}",
}


def plan() -> CampaignPlan:
    return CampaignPlan.model_validate({
        "id": CAMPAIGN, "name": "Order notice", "purpose": "service", "include_segments": ["s"],
        "start_date": "2026-11-01", "end_date": "2026-11-30",
        "channels": ["sms", "app_push", "wechat_oa_template", "wecom"],
        "template": {"id": "notice_v1", "params": {"city": "city"}, "sign_name": "夜班商城"},
        "priority": 5, "send_window": {"start": "10:00", "end": "20:00"},
        "experiment": {"salt": "x", "variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}]},
    })  # fmt: skip


def audience(run_date: date, channel: str, people: int) -> list[dict]:
    """Rows as the export stage hands them to a writer."""
    return [
        {
            "one_id": one_id, "contact_id": contact_id(CAMPAIGN, run_date, one_id, channel),
            "variant": "ab"[one_id % 2], "contact_ref": ADDRESSES[channel](one_id),
            "send_at": SEND_TIMES[one_id % 2], "template_id": "notice_v1", "benefit_id": "", "cost_fen": 0,
            "param_city": "上海", "device_os": ("ios", "android")[one_id % 2],
            "wecom_owner_userid": f"staff_{one_id % 3}", "timezone": "Asia/Shanghai",
        }
        for one_id in range(1, people + 1)
    ]  # fmt: skip


def write_sealed(exports_dir: Path, run_date: date, people: dict[str, int]) -> dict[str, dict[str, str]]:
    """Each channel's payload for `people[channel]` people, sealed as the export stage seals it. Returns
    channel -> {contact_id: the address the vendor sees (11-digit number, alias, openid, external_userid)}."""
    planned = {}
    for channel, count in people.items():
        rows = audience(run_date, channel, count)
        assert set(PROFILE_COLUMNS.get(channel, ())) <= set(rows[0])
        payload = WRITERS[channel](rows, plan())
        folder = exports_dir / run_date.isoformat() / CAMPAIGN / channel
        write_parts(folder, payload.parts)
        seal(folder, run_date=run_date, campaign_id=CAMPAIGN, target=channel, plan_version="test",
             contacts=payload.contacts, left_out=len(payload.rejected), cost_fen=0,
             diff=AudienceDiff(None, payload.contacts, 0, 0))  # fmt: skip
        planned[channel] = {row["contact_id"]: vendor_address(channel, row["contact_ref"]) for row in rows}
    return planned


def vendor_address(channel: str, contact_ref: str) -> str:
    return contact_ref.removeprefix("+86") if channel == "sms" else contact_ref


def endpoints_json(url: str, channels) -> str:
    return "{" + ",".join(f'"{channel}": "{url}"' for channel in channels) + "}"
