"""How the simulated channels behave: rate limits, injected faults, token lifetime, permanent failures."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

SMS, APP_PUSH, WECHAT, WECOM = "sms", "app_push", "wechat_oa_template", "wecom"
CHANNELS: tuple[str, ...] = (SMS, APP_PUSH, WECHAT, WECOM)
# Requests per second each vendor grants one account by default (order of magnitude of their published quotas).
DEFAULT_RATE_LIMITS: dict[str, float] = {SMS: 50.0, APP_PUSH: 20.0, WECHAT: 100.0, WECOM: 100.0}
HASH_SPACE = 2**32
# The simulator takes any non-empty credentials. These are what the demo's delivery hands it: made up, and only ever
# sent to the simulator on 127.0.0.1 (the clients read the variables of these names, `deliveries.api`).
SIMULATOR_CREDENTIALS: dict[str, str] = {
    "ALIYUN_ACCESS_KEY_ID": "simulator-key-id", "ALIYUN_ACCESS_KEY_SECRET": "simulator-key-secret",
    "JPUSH_APP_KEY": "simulator-app-key", "JPUSH_MASTER_SECRET": "simulator-master-secret",
    "WECHAT_APP_ID": "simulator-app-id", "WECHAT_SECRET": "simulator-secret",
    "WECOM_CORP_ID": "simulator-corp-id", "WECOM_SECRET": "simulator-secret",
}  # fmt: skip


def address_fails(channel: str, address: str, share: float) -> bool:
    """Whether the vendor refuses this address for good (unsubscribed, unknown, illegal number): a fixed share of
    addresses, chosen by a hash so the same address fails on every call and in every test."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{channel}|{address}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / HASH_SPACE < share


@dataclass
class SimulatorConfig:
    """Shares are per call (0..1) and drawn from a seeded generator, so a run's faults are reproducible."""

    rate_limits: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    unavailable_share: float = 0.0  # HTTP 503
    slow_share: float = 0.0  # the call is carried out, but the answer comes after `slow_seconds` (a client timeout)
    slow_seconds: float = 2.0
    throttle_share: float = 0.0  # throttled although under the limit (vendors throttle on their own load too)
    invalid_share: float = 0.0  # addresses refused for good (`address_fails`)
    latency_seconds: float = 0.0  # added to every send call (slows a delivery down, e.g. to kill it midway)
    token_ttl_seconds: float = 7200.0  # WeChat and WeCom access tokens last two hours
    token_ttl_calls: int = 0  # also expire a token after this many calls (0: never); tests use it to force refreshes
    # WeChat / WeCom accounts whose secret the vendor refuses (revoked or rotated): no access token is issued
    revoked_credentials: tuple[str, ...] = ()
    seed: int = 12

    def rate_limit(self, channel: str) -> float:
        """Requests per second for the channel; 0 or less means unlimited."""
        return float(self.rate_limits.get(channel, DEFAULT_RATE_LIMITS[channel]))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SimulatorConfig:
        """The config `to_json` wrote (JSON has no tuples: the tuple fields are made tuples again)."""
        values = json.loads(text)
        return cls(**{**values, "revoked_credentials": tuple(values.get("revoked_credentials", ()))})
