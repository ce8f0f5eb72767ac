"""JPush v3 `POST /v3/push` (basic auth: app key and master secret). The push body gets a `cid`, JPush's guard
against a duplicate push: the batch key of its contacts (`contracts.batch_key`, the formula of the SMS `OutId`),
so a resent batch carries the same cid and anyone holding the sealed payload (the simulated world answering it)
finds the cid from the line's contact_ids."""

from __future__ import annotations

from nightshift.contracts import batch_key
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

THROTTLED = 2002
RETRYABLE_CODES = {THROTTLED, 1030}  # 1030: JPush's internal error
AUTH_CODES = {1004}


class JPush(ChannelClient):
    channel, vendor = "app_push", "jpush"

    def __init__(self, base_url: str, timeout: float):
        super().__init__(base_url, timeout)
        app_key, master_secret = secret_from_env("JPUSH_APP_KEY", "JPUSH_MASTER_SECRET")
        self.http.auth = (app_key, master_secret)

    def batch(self, campaign_id: str, line: dict) -> Batch:
        contact_ids = tuple(line["contact_ids"])
        cid = str(line["body"].get("cid") or batch_key(contact_ids))
        return Batch(campaign_id, contact_ids, {**line["body"], "cid": cid}, cid)

    def send(self, batch: Batch) -> Outcome:
        answer = self.post("/v3/push", json=batch.body)
        try:
            result = answer.json()
        except ValueError:
            raise RetryableError(f"http_{answer.status_code}", "JPush answered something that is not JSON") from None
        if answer.status_code == 200 and "msg_id" in result:
            return Outcome(ACCEPTED, "0", str(result["msg_id"]))
        code = int((result.get("error") or {}).get("code", 0) or 0)
        if answer.status_code == 429 or code in RETRYABLE_CODES:
            raise RetryableError(str(code or answer.status_code))
        if answer.status_code == 401 or code in AUTH_CODES:
            raise AuthenticationFailed("JPush refused the app key (1004): check JPUSH_APP_KEY/JPUSH_MASTER_SECRET")
        return Outcome(FAILED, str(code or f"http_{answer.status_code}"))
