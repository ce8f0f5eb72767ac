"""Data contracts between stages: the columns a downstream stage may rely on.

`marts.user_profile` (built by dbt, one row per one_id as of the run date) is the table Spark segments and
campaign audiences read. Columns listed here are guaranteed; the profile also has one column per catalogue tag.
A test checks the built model against this list, so a change on either side is caught.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

# Channels a campaign can deliver on, in the vocabulary used by plans, audiences, exports and receipts.
CHANNELS: tuple[str, ...] = ("wechat_oa_template", "sms", "app_push", "wecom", "outbound_call")
# Channels the deliver stage sends through an API (nightshift.deliveries.api.CLIENTS); the call list is picked up.
API_CHANNELS: tuple[str, ...] = ("sms", "app_push", "wechat_oa_template", "wecom")


def batch_key(contact_ids: Sequence[str]) -> str:
    """The key of one API call that carries several contacts: the first 32 hex digits of the sha256 of their
    contact_ids joined by ",". The SMS writer puts it in `OutId`, the JPush client sends it as `cid`, and the
    simulated world finds the contacts of a vendor's record by it."""
    return hashlib.sha256(",".join(contact_ids).encode("utf-8")).hexdigest()[:32]


def wecom_tag_key(userid: str, external_userid: str, tags) -> str:
    """The key of one WeCom `mark_tag` call: tagging is idempotent, so the same staff member, contact and tags
    (sorted, joined by "+") are the same request. The deliver stage sends by it; the simulator keeps its ledger
    by it."""
    return f"{userid}/{external_userid}/{'+'.join(sorted(map(str, tags or [])))}"


def export_asset(channel: str) -> tuple[str, str]:
    """(name, uri) of the Airflow Asset the export task updates for a channel's sealed deliveries: the nightly DAG
    produces it, the channel delivery DAG is scheduled on it."""
    return f"nightshift_export_{channel}", f"nightshift://exports/{channel}"


USER_PROFILE_COLUMNS: dict[str, str] = {
    "one_id": "UInt64",
    "profile_date": "Date",
    # identities (the preferred value per type; empty string when absent)
    "phone": "String",  # E.164
    "unionid": "String",
    "wechat_oa_openid": "String",
    "miniprogram_openid": "String",
    "app_user_id": "String",
    "wecom_external_userid": "String",
    "douyin_open_id": "String",
    "xiaoe_user_id": "String",
    # contact address references per channel (what an export row points at); empty when unreachable
    "contact_ref_sms": "String",
    "contact_ref_app_push": "String",
    "contact_ref_wechat_oa_template": "String",
    "contact_ref_wecom": "String",
    "contact_ref_outbound_call": "String",
    # the WeCom staff member (userid) who owns contact_ref_wecom: mark_tag and messages go through them
    "wecom_owner_userid": "String",
    # reachability AND consent per channel: 1 only if an address exists and the person has not opted out
    "can_receive_sms": "UInt8",
    "can_receive_app_push": "UInt8",
    "can_receive_wechat_oa_template": "UInt8",
    "can_receive_wecom": "UInt8",
    "can_receive_outbound_call": "UInt8",
    # suppression inputs
    "is_sms_unsubscribed": "UInt8",
    "has_complaint": "UInt8",
    "is_blacklisted": "UInt8",
    "is_internal_test_account": "UInt8",
    # the person's local time zone (IANA), for send windows and quiet hours
    "timezone": "String",
    # the latest click on a campaign's short link (UTC); null when none
    "last_clicked_at": "Nullable(DateTime64(3, 'UTC'))",
}

# `marts.user_tag_periods` (a view over the tag history snapshot): what rule segments' `had:` conditions read.
USER_TAG_PERIODS_COLUMNS: dict[str, str] = {
    "one_id": "UInt64",
    "tag_code": "LowCardinality(String)",
    "tag_value": "Nullable(String)",
    "valid_from_date": "Date",
    "valid_to_date": "Nullable(Date)",
}
