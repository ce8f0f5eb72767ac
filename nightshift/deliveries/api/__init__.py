"""Delivery through the channels' APIs: an httpx client per vendor (`CLIENTS`, by channel), each behind a token
bucket (pyrate_limiter) and retries with exponential backoff on retryable errors only (tenacity): 5xx, timeouts,
throttling, an expired token (refreshed first). Permanent refusals are never retried. Every call carries the
business key as the vendor's idempotency key where the API has one (Aliyun `OutId`, JPush `cid`, WeChat
`client_msg_id`; WeCom tagging is idempotent by itself).

The vendors' secrets come from environment variables only (`base.secret_from_env`) and never reach a log line:
httpx's request logging, which would print query strings holding tokens and secrets, is turned down.
The deliver stage (`nightshift.stages.deliver`) reads the sealed payload files and records every outcome.
"""

from __future__ import annotations

from nightshift.deliveries.api.aliyun import AliyunSms
from nightshift.deliveries.api.base import (
    ACCEPTED,
    FAILED,
    FINAL,
    GAVE_UP,
    RETRYING,
    SENDING,
    AuthenticationFailed,
    Batch,
    ChannelClient,
    Outcome,
    RetryableError,
    Sender,
)
from nightshift.deliveries.api.jpush import JPush
from nightshift.deliveries.api.tencent import WeChatTemplate, WeComTag

CLIENTS: dict[str, type[ChannelClient]] = {
    "sms": AliyunSms,
    "app_push": JPush,
    "wechat_oa_template": WeChatTemplate,
    "wecom": WeComTag,
}
# Requests per second per channel when NIGHTSHIFT_DELIVERY_RATE_LIMITS does not say (the vendors' usual quotas).
DEFAULT_RATE_LIMITS: dict[str, float] = {"sms": 50.0, "app_push": 20.0, "wechat_oa_template": 100.0, "wecom": 100.0}

__all__ = [
    "ACCEPTED",
    "CLIENTS",
    "DEFAULT_RATE_LIMITS",
    "FAILED",
    "FINAL",
    "GAVE_UP",
    "RETRYING",
    "SENDING",
    "AuthenticationFailed",
    "Batch",
    "ChannelClient",
    "Outcome",
    "RetryableError",
    "Sender",
]
