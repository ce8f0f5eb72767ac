"""WeChat Official Account template messages and WeCom `externalcontact/mark_tag`: both take an access token in
the query string that expires (42001), fetched with the app's id and secret and refreshed when it does."""

from __future__ import annotations

import threading

from nightshift.contracts import wecom_tag_key
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

SYSTEM_BUSY = -1
TOKEN_CODES = {40001, 40014, 42001, 42007}  # invalid or expired access token: fetch a new one, then retry
AUTH_CODES = {40013, 40125, 41002, 41004}  # bad app id / secret: retrying cannot help


class TokenClient(ChannelClient):
    token_path = ""
    send_path = ""
    throttled: frozenset[int] = frozenset()
    credential_names: tuple[str, str] = ("", "")
    credential_params: tuple[str, str] = ("", "")

    def __init__(self, base_url: str, timeout: float):
        super().__init__(base_url, timeout)
        self._credentials = secret_from_env(*self.credential_names)
        self._token = ""
        self._token_lock = threading.Lock()  # calls go out from several threads; one of them fetches a token

    def token(self) -> str:
        with self._token_lock:
            return self._token or self._fetch_token()

    def _fetch_token(self) -> str:
        if not self._token:
            params = dict(zip(self.credential_params, self._credentials, strict=True))
            if self.channel == "wechat_oa_template":
                params["grant_type"] = "client_credential"
            result = self.post(self.token_path, method="GET", params=params).json()
            if not result.get("access_token"):
                names = "/".join(self.credential_names)
                raise AuthenticationFailed(f"{self.vendor} gave no access token (errcode {result.get('errcode')}): "
                                           f"check {names}")  # fmt: skip
            self._token = str(result["access_token"])
        return self._token

    def send(self, batch: Batch) -> Outcome:
        token = self.token()
        answer = self.post(self.send_path, params={"access_token": token}, json=batch.body)
        try:
            result = answer.json()
        except ValueError:
            raise RetryableError(f"http_{answer.status_code}", f"{self.vendor} answered something not JSON") from None
        code = int(result.get("errcode", 0) or 0)
        if code == 0:
            return Outcome(ACCEPTED, "0", str(result.get("msgid", "")))
        if code in TOKEN_CODES:
            with self._token_lock:
                if self._token == token:  # another thread may have fetched a fresh one already
                    self._token = ""  # the next attempt fetches a fresh token
            raise RetryableError(str(code))
        if code in self.throttled or code == SYSTEM_BUSY:
            raise RetryableError(str(code))
        if code in AUTH_CODES:
            raise AuthenticationFailed(f"{self.vendor} refused the credentials ({code})")
        return Outcome(FAILED, str(code))


class WeChatTemplate(TokenClient):
    channel, vendor = "wechat_oa_template", "wechat"
    token_path, send_path = "/cgi-bin/token", "/cgi-bin/message/template/send"
    throttled = frozenset({45009, 45011})
    credential_names, credential_params = ("WECHAT_APP_ID", "WECHAT_SECRET"), ("appid", "secret")

    def batch(self, campaign_id: str, line: dict) -> Batch:
        body = line["body"]
        # the export puts the contact_id in client_msg_id (WeChat dedups on it)
        return Batch(campaign_id, (str(body["client_msg_id"]),), body, str(body["client_msg_id"]))


class WeComTag(TokenClient):
    channel, vendor = "wecom", "wecom"
    token_path, send_path = "/cgi-bin/gettoken", "/cgi-bin/externalcontact/mark_tag"
    throttled = frozenset({45009, 45033})
    credential_names, credential_params = ("WECOM_CORP_ID", "WECOM_SECRET"), ("corpid", "corpsecret")

    def batch(self, campaign_id: str, line: dict) -> Batch:
        body = line["body"]
        key = wecom_tag_key(body["userid"], body["external_userid"], body.get("add_tag"))
        return Batch(campaign_id, (str(line["contact_id"]),), body, key)
