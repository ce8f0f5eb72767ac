"""The simulator's HTTP app: each vendor's request and answer shapes, its throttling code, faults, and the ledger.

- sms (Aliyun): `GET/POST /?Action=SendBatchSms` with RPC parameters; idempotency key `OutId`; throttled: HTTP
  400 `Throttling.User`; a bad number is taken, then undelivered (`isv.MOBILE_NUMBER_ILLEGAL`).
- app_push (JPush): `POST /v3/push` with basic auth; key `cid`; throttled: HTTP 429, code 2002; a bad alias is
  taken, then undelivered (1011).
- wechat_oa_template: `GET /cgi-bin/token`, `POST /cgi-bin/message/template/send`; key `client_msg_id`;
  throttled: errcode 45011; an unsubscribed follower: errcode 43004.
- wecom: `GET /cgi-bin/gettoken`, `POST /cgi-bin/externalcontact/mark_tag`; key (userid, external_userid, tags);
  throttled: errcode 45033; not an external contact: errcode 84061.

A repeated idempotency key is answered with the first answer and adds no send to the ledger (what WeChat does with
`client_msg_id`, and JPush with `cid`); it is logged in `calls.jsonl` as `repeat`. WeChat and WeCom tokens expire
after `token_ttl_seconds` or `token_ttl_calls` uses (errcode 42001; an unknown token is 40001).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import secrets
import time
from itertools import count

from pyrate_limiter import Duration, Limiter, Rate
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from nightshift.contracts import wecom_tag_key
from nightshift.generate.channels.config import APP_PUSH, SMS, WECHAT, WECOM, SimulatorConfig, address_fails
from nightshift.generate.channels.ledger import ARRIVED, Ledger, now_text, recipient_key

ALIYUN_MAX_NUMBERS = 100
JPUSH_MAX_ALIASES = 1_000
# Each vendor's answer when a caller goes over its rate: (HTTP status, body).
THROTTLED = {
    SMS: (400, {"Code": "Throttling.User", "Message": "Request was denied due to user flow control."}),
    APP_PUSH: (429, {"error": {"code": 2002, "message": "Rate limit exceeded"}}),
    WECHAT: (200, {"errcode": 45011, "errmsg": "api minute-quota reach limit mustslower retry next minute"}),
    WECOM: (200, {"errcode": 45033, "errmsg": "api concurrent out of limit"}),
}
EXPIRED = {"errcode": 42001, "errmsg": "access_token expired"}
UNKNOWN_TOKEN = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}


def _code(body: dict) -> str:
    if "Code" in body:
        return str(body["Code"])
    if "error" in body:
        return str(body["error"].get("code", ""))
    return str(body.get("errcode", ""))


class SimulatedChannels:
    """The simulator's state: limiters, issued tokens, answers kept per idempotency key, the seeded fault draws."""

    def __init__(self, config: SimulatorConfig, ledger: Ledger):
        self.config, self.ledger = config, ledger
        self.draws = random.Random(config.seed)
        self.limiters = {
            channel: Limiter(Rate(max(1, int(limit)), Duration.SECOND), raise_when_fail=False)
            for channel in THROTTLED
            if (limit := config.rate_limit(channel)) > 0
        }
        self.tokens: dict[str, list] = {}  # token -> [channel, issued at (monotonic), uses]
        self.answers: dict[tuple[str, str], tuple[int, dict]] = {}  # (channel, idempotency key) -> first answer
        self.ids = count(1)

    # -- the steps every send call goes through ------------------------------------------------------------------
    async def admitted(self, channel: str, endpoint: str) -> Response | None:
        """None when the call may proceed; else the answer refusing it (throttled or unavailable), logged."""
        if self.config.latency_seconds:
            await asyncio.sleep(self.config.latency_seconds)
        limiter = self.limiters.get(channel)
        over_limit = limiter is not None and not limiter.try_acquire(channel)
        if over_limit or self.draws.random() < self.config.throttle_share:
            status, body = THROTTLED[channel]
            self.ledger.call(channel, endpoint, status, _code(body), "throttled")
            return JSONResponse(body, status_code=status)
        if self.draws.random() < self.config.unavailable_share:
            self.ledger.call(channel, endpoint, 503, "", "unavailable")
            return PlainTextResponse("Service Unavailable", status_code=503)
        return None

    def repeated(self, channel: str, endpoint: str, key: str) -> Response | None:
        answer = self.answers.get((channel, key)) if key else None
        if answer is None:
            return None
        status, body = answer
        self.ledger.call(channel, endpoint, status, _code(body), "repeat")
        return JSONResponse(body, status_code=status)

    async def answered(self, channel: str, endpoint: str, key: str, status: int, body: dict, outcome: str) -> Response:
        """Remember the answer under the idempotency key, log the call, and answer (late, now and then)."""
        if key:
            self.answers[(channel, key)] = (status, body)
        slow = self.draws.random() < self.config.slow_share
        self.ledger.call(channel, endpoint, status, _code(body), "slow" if slow else outcome)
        if slow:
            await asyncio.sleep(self.config.slow_seconds)
        return JSONResponse(body, status_code=status)

    def token_problem(self, channel: str, token: str) -> dict | None:
        entry = self.tokens.get(token)
        if entry is None or entry[0] != channel:
            return UNKNOWN_TOKEN
        entry[2] += 1
        too_old = time.monotonic() - entry[1] > self.config.token_ttl_seconds
        too_used = self.config.token_ttl_calls and entry[2] > self.config.token_ttl_calls
        return EXPIRED if too_old or too_used else None

    def issue_token(self, channel: str) -> dict:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = [channel, time.monotonic(), 0]
        self.ledger.call(channel, "token", 200, "0", "token")
        return {"access_token": token, "expires_in": int(self.config.token_ttl_seconds)}

    def refused_credentials(self, channel: str, code: int, message: str) -> Response:
        self.ledger.call(channel, "token", 200, str(code), "refused")
        return JSONResponse({"errcode": code, "errmsg": message})

    def message_id(self) -> str:
        return f"{next(self.ids):012d}"

    # -- Aliyun SendBatchSms -------------------------------------------------------------------------------------
    async def aliyun(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(dict(await request.form()))
        request_id = secrets.token_hex(16).upper()
        if params.get("Action") != "SendBatchSms":
            return JSONResponse({"Code": "InvalidAction.NotFound", "RequestId": request_id}, status_code=404)
        if not params.get("AccessKeyId") or not params.get("Signature"):
            return JSONResponse({"Code": "MissingAccessKeyId", "RequestId": request_id}, status_code=400)
        refused = await self.admitted(SMS, "SendBatchSms")
        if refused:
            return refused
        out_id = params.get("OutId", "")
        repeat = self.repeated(SMS, "SendBatchSms", out_id)
        if repeat:
            return repeat
        try:
            phones = json.loads(params["PhoneNumberJson"])
            signs = json.loads(params["SignNameJson"])
            template_params = json.loads(params.get("TemplateParamJson") or "[]")
            if not params.get("TemplateCode"):
                raise KeyError("TemplateCode")
        except (KeyError, ValueError) as error:
            body = {"Code": "isv.INVALID_PARAMETERS", "Message": f"parameter {error}", "RequestId": request_id}
            return await self.answered(SMS, "SendBatchSms", "", 400, body, "invalid")
        if (
            not 0 < len(phones) <= ALIYUN_MAX_NUMBERS
            or len(signs) != len(phones)
            or (template_params and len(template_params) != len(phones))
        ):
            body = {"Code": "isv.BATCH_LIMIT_CONTROL", "Message": "numbers, sign names and parameters differ",
                    "RequestId": request_id}  # fmt: skip
            return await self.answered(SMS, "SendBatchSms", "", 400, body, "invalid")
        biz_id = f"{self.message_id()}^0"
        recipients = []
        for phone in phones:
            fails = address_fails(SMS, phone, self.config.invalid_share)
            status, code = ("undelivered", "isv.MOBILE_NUMBER_ILLEGAL") if fails else ("accepted", "DELIVERED")
            recipients.append((recipient_key(out_id, phone), phone, status, code, biz_id))
        self.ledger.sends(SMS, recipients)
        body = {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}
        return await self.answered(SMS, "SendBatchSms", out_id, 200, body, "accepted")

    # -- JPush v3 push -------------------------------------------------------------------------------------------
    async def jpush(self, request: Request) -> Response:
        if not _basic_auth_given(request.headers.get("authorization", "")):
            body = {"error": {"code": 1004, "message": "Authentication failed"}}
            self.ledger.call(APP_PUSH, "push", 401, "1004", "unauthorised")
            return JSONResponse(body, status_code=401)
        refused = await self.admitted(APP_PUSH, "push")
        if refused:
            return refused
        push = await request.json()
        cid = str(push.get("cid") or "")
        repeat = self.repeated(APP_PUSH, "push", cid)
        if repeat:
            return repeat
        aliases = (push.get("audience") or {}).get("alias") if isinstance(push.get("audience"), dict) else None
        if not aliases or len(aliases) > JPUSH_MAX_ALIASES or "notification" not in push:
            body = {"error": {"code": 1003, "message": "Parameter value is invalid"}}
            return await self.answered(APP_PUSH, "push", "", 400, body, "invalid")
        msg_id = self.message_id()
        recipients = []
        for alias in aliases:
            fails = address_fails(APP_PUSH, alias, self.config.invalid_share)
            status, code = ("undelivered", "1011") if fails else ("accepted", "0")
            recipients.append((recipient_key(cid, alias), alias, status, code, msg_id))
        self.ledger.sends(APP_PUSH, recipients)
        sendno = str((push.get("options") or {}).get("sendno", 0))
        return await self.answered(APP_PUSH, "push", cid, 200, {"sendno": sendno, "msg_id": msg_id}, "accepted")

    # -- WeChat Official Account ---------------------------------------------------------------------------------
    async def wechat_token(self, request: Request) -> Response:
        if not request.query_params.get("appid") or not request.query_params.get("secret"):
            return JSONResponse({"errcode": 41002, "errmsg": "appid missing"})
        if WECHAT in self.config.revoked_credentials:
            return self.refused_credentials(WECHAT, 40125, "invalid appsecret")
        return JSONResponse(self.issue_token(WECHAT))

    async def wechat_send(self, request: Request) -> Response:
        endpoint = "template_send"
        refused = await self.admitted(WECHAT, endpoint)
        if refused:
            return refused
        problem = self.token_problem(WECHAT, request.query_params.get("access_token", ""))
        if problem:
            self.ledger.call(WECHAT, endpoint, 200, _code(problem), "token")
            return JSONResponse(problem)
        message = await request.json()
        key = str(message.get("client_msg_id") or "")
        repeat = self.repeated(WECHAT, endpoint, key)
        if repeat:
            return repeat
        touser = str(message.get("touser") or "")
        if not touser or not message.get("template_id"):
            return await self.answered(
                WECHAT, endpoint, "", 200, {"errcode": 40003, "errmsg": "invalid openid"}, "invalid"
            )
        message_id = self.message_id()
        if address_fails(WECHAT, touser, self.config.invalid_share):
            self.ledger.send(WECHAT, key, touser, "failed", "43004", "")
            return await self.answered(
                WECHAT, endpoint, key, 200, {"errcode": 43004, "errmsg": "require subscribe"}, "failed"
            )
        self.ledger.send(WECHAT, key, touser, "accepted", "0", message_id)
        body = {"errcode": 0, "errmsg": "ok", "msgid": int(message_id)}
        return await self.answered(WECHAT, endpoint, key, 200, body, "accepted")

    # -- WeCom ---------------------------------------------------------------------------------------------------
    async def wecom_token(self, request: Request) -> Response:
        if not request.query_params.get("corpid") or not request.query_params.get("corpsecret"):
            return JSONResponse({"errcode": 41002, "errmsg": "corpid missing"})
        if WECOM in self.config.revoked_credentials:
            return self.refused_credentials(WECOM, 40001, "invalid credential")
        return JSONResponse({"errcode": 0, "errmsg": "ok", **self.issue_token(WECOM)})

    async def wecom_mark_tag(self, request: Request) -> Response:
        endpoint = "mark_tag"
        refused = await self.admitted(WECOM, endpoint)
        if refused:
            return refused
        problem = self.token_problem(WECOM, request.query_params.get("access_token", ""))
        if problem:
            self.ledger.call(WECOM, endpoint, 200, _code(problem), "token")
            return JSONResponse(problem)
        body = await request.json()
        external = str(body.get("external_userid") or "")
        key = wecom_tag_key(body.get("userid", ""), external, body.get("add_tag"))
        repeat = self.repeated(WECOM, endpoint, key)
        if repeat:
            return repeat
        if not body.get("userid") or not external or not body.get("add_tag"):
            return await self.answered(
                WECOM, endpoint, "", 200, {"errcode": 40058, "errmsg": "invalid parameter"}, "invalid"
            )
        if address_fails(WECOM, external, self.config.invalid_share):
            self.ledger.send(WECOM, key, external, "failed", "84061", "")
            answer = {"errcode": 84061, "errmsg": "not external contact"}
            return await self.answered(WECOM, endpoint, key, 200, answer, "failed")
        self.ledger.send(WECOM, key, external, "accepted", "0", "")
        return await self.answered(WECOM, endpoint, key, 200, {"errcode": 0, "errmsg": "ok"}, "accepted")


def _basic_auth_given(header: str) -> bool:
    if not header.lower().startswith("basic "):
        return False
    try:
        app_key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return bool(app_key and secret)


class ArrivalTime:
    """Notes when each request arrived (before its body is read or anything waits), for the calls log."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            ARRIVED.set(now_text())
        await self.app(scope, receive, send)


def simulator_app(config: SimulatorConfig, ledger: Ledger) -> Starlette:
    channels = SimulatedChannels(config, ledger)
    routes = [
        Route("/", channels.aliyun, methods=["GET", "POST"]),
        Route("/v3/push", channels.jpush, methods=["POST"]),
        Route("/cgi-bin/token", channels.wechat_token, methods=["GET"]),
        Route("/cgi-bin/message/template/send", channels.wechat_send, methods=["POST"]),
        Route("/cgi-bin/gettoken", channels.wecom_token, methods=["GET"]),
        Route("/cgi-bin/externalcontact/mark_tag", channels.wecom_mark_tag, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(ArrivalTime)])
    app.state.channels = channels
    return app
