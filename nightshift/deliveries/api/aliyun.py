"""Aliyun SMS `SendBatchSms` (RPC style: signed parameters, HMAC-SHA1). The export's `OutId` (the batch's key) is
the idempotency key: a resent batch carries the same one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from nightshift.deliveries.api.base import (
    ACCEPTED,
    FAILED,
    AuthenticationFailed,
    Batch,
    ChannelClient,
    Outcome,
    RetryableError,
    secret_from_env,
)

API_VERSION = "2017-05-25"
RETRYABLE_CODES = ("Throttling", "isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError")
AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "MissingAccessKeyId", "Forbidden.RAM")


def _percent(text: str) -> str:
    # Aliyun's RPC signature percent-encodes everything but unreserved characters, spaces as %20
    return quote(text, safe="-_.~")


def signed(parameters: dict[str, str], key_id: str, key_secret: str, method: str = "POST") -> dict[str, str]:
    """The parameters with Aliyun's common parameters and `Signature` (RPC signature version 1.0)."""
    common = {
        "AccessKeyId": key_id, "Format": "JSON", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex, "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": API_VERSION,
    }  # fmt: skip
    everything = {**parameters, **common}
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(everything.items()))
    to_sign = f"{method}&{_percent('/')}&{_percent(canonical)}"
    digest = hmac.new(f"{key_secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return {**everything, "Signature": base64.b64encode(digest).decode()}


class AliyunSms(ChannelClient):
    channel, vendor = "sms", "aliyun"

    def __init__(self, base_url: str, timeout: float):
        super().__init__(base_url, timeout)
        self._key_id, self._key_secret = secret_from_env("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET")

    def batch(self, campaign_id: str, line: dict) -> Batch:
        body = line["body"]
        return Batch(campaign_id, tuple(line["contact_ids"]), body, str(body.get("OutId", "")))

    def send(self, batch: Batch) -> Outcome:
        parameters = {"Action": "SendBatchSms", **{k: str(v) for k, v in batch.body.items()}}
        answer = self.post("/", data=signed(parameters, self._key_id, self._key_secret))
        try:
            result = answer.json()
        except ValueError:
            raise RetryableError(f"http_{answer.status_code}", "Aliyun answered something that is not JSON") from None
        code = str(result.get("Code", ""))
        if code == "OK":
            return Outcome(ACCEPTED, code, str(result.get("BizId", "")))
        if code.startswith(RETRYABLE_CODES):
            raise RetryableError(code)
        if code in AUTH_CODES:
            raise AuthenticationFailed(f"Aliyun refused the access key ({code}): check ALIYUN_ACCESS_KEY_ID/_SECRET")
        return Outcome(FAILED, code or f"http_{answer.status_code}")
