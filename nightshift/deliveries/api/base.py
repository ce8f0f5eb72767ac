"""What every channel's API client shares: batches read from the sealed payload files, outcomes, the error kinds
that decide retrying, and `Sender` (token bucket + retries with exponential backoff around one client)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from pyrate_limiter import Duration, Limiter, Rate
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from nightshift.errors import ConfigurationError, NightshiftError

# httpx logs every request's URL at INFO, and WeChat/WeCom put the app secret and the access token in the query
# string: keep those lines out of task logs.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

ACCEPTED, FAILED = "accepted", "failed"
SENDING, RETRYING, GAVE_UP = "sending", "retrying", "gave_up"
FINAL = (ACCEPTED, FAILED)  # a contact in one of these is never sent again
LONGEST_BACKOFF_SECONDS = 30.0
LIMITER_WAIT_MS = 3_600_000  # a call waits for its turn in the bucket as long as it takes
# Calls are paced evenly a little under the vendor's limit, never sent in bursts of a whole second's quota: a burst
# that the network or the vendor's front end delays spills into the next second, where the next burst already is,
# and the vendor counts more than its limit in one second (measured through the simulator: 1.3 x the limit).
HEADROOM = 0.95


class EvenPacing:
    """Send slots `1 / rate` seconds apart, for whichever thread asks next. pyrate_limiter's rates are whole
    milliseconds with a delay buffer on top, which at 100 calls a second paces 10-20 % slow; it still holds the
    hard cap of `rate` calls in any second (`Sender`)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            slot = max(time.monotonic(), self.next_slot)  # no credit piles up while idle: no burst afterwards
            self.next_slot = slot + self.interval
        time.sleep(max(0.0, slot - time.monotonic()))


@dataclass(frozen=True)
class Batch:
    """One API call's worth of a payload file: the body as the export wrote it, the contacts it carries (in body
    order) and the idempotency key the vendor dedups on ('' when the API has none)."""

    campaign_id: str
    contact_ids: tuple[str, ...]
    body: dict
    key: str


@dataclass(frozen=True)
class Outcome:
    status: str  # accepted | failed
    vendor_code: str
    vendor_message_id: str = ""


class RetryableError(NightshiftError):
    """5xx, timeouts, throttling, an expired token: the same call may succeed later."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or f"retryable error {code}")
        self.code = code


class AuthenticationFailed(NightshiftError):
    """The vendor refused our credentials: nothing in this channel can be sent until they are fixed."""


def secret_from_env(*names: str) -> tuple[str, ...]:
    """The named environment variables' values; a ConfigurationError naming what is missing (never the values)."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise ConfigurationError(
            f"Delivery needs {', '.join(missing)} in the environment (the vendor's credentials are read from "
            "environment variables only, never from files); set them for the task or leave the channel out of "
            "NIGHTSHIFT_DELIVERY_ENDPOINTS"
        )
    return tuple(os.environ[name] for name in names)


class ChannelClient:
    """One vendor's API over one httpx client. Subclasses turn a payload line into a `Batch` and send it."""

    channel = ""
    vendor = ""

    def __init__(self, base_url: str, timeout: float):
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def batch(self, campaign_id: str, line: dict) -> Batch:
        raise NotImplementedError

    def send(self, batch: Batch) -> Outcome:
        """One call. Raises RetryableError when the call may be tried again, AuthenticationFailed on bad keys."""
        raise NotImplementedError

    def post(self, path: str, **kwargs) -> httpx.Response:
        """A request whose transport failures (timeouts, refused connections) are retryable, as are 5xx answers."""
        try:
            answer = self.http.request(kwargs.pop("method", "POST"), path, **kwargs)
        except httpx.TimeoutException:
            raise RetryableError("timeout", f"{self.vendor}: no answer within the timeout") from None
        except httpx.TransportError as error:
            raise RetryableError("transport", f"{self.vendor}: {type(error).__name__}") from None
        if answer.status_code >= 500:
            raise RetryableError(f"http_{answer.status_code}", f"{self.vendor}: HTTP {answer.status_code}")
        return answer

    def close(self) -> None:
        self.http.close()


Event = Callable[[int, str, str, str], None]  # (attempt, status, vendor_code, vendor_message_id)


class Sender:
    """Sends batches through one client at most `rate` calls per second, evenly paced (a bucket per channel and
    vendor, shared by retries and by the threads sending), retrying retryable errors with exponential backoff;
    reports every step to `on_event`."""

    def __init__(self, client: ChannelClient, rate: float, max_attempts: int, backoff_seconds: float):
        self.client = client
        self.bucket = f"{client.channel}:{client.vendor}"
        self.pacing = EvenPacing(rate * HEADROOM) if rate > 0 else None
        self.limiter = (
            Limiter(Rate(max(1, int(rate)), Duration.SECOND), max_delay=LIMITER_WAIT_MS, retry_until_max_delay=True)
            if rate > 0
            else None
        )
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds

    def send(self, batch: Batch, first_attempt: int, on_event: Event) -> Outcome | None:
        """The batch's final outcome, or None when retries ran out (reported as `gave_up`)."""
        attempt = first_attempt
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=LONGEST_BACKOFF_SECONDS),
            retry=retry_if_exception_type(RetryableError),
        )
        last_code = ""
        try:
            for try_ in retrying:
                with try_:
                    if self.pacing is not None and self.limiter is not None:
                        self.pacing.wait()
                        self.limiter.try_acquire(self.bucket)
                    on_event(attempt, SENDING, "", "")
                    try:
                        outcome = self.client.send(batch)
                    except RetryableError as error:
                        last_code = error.code
                        on_event(attempt, RETRYING, error.code, "")
                        attempt += 1
                        raise
                    on_event(attempt, outcome.status, outcome.vendor_code, outcome.vendor_message_id)
                    return outcome
        except RetryError:
            on_event(attempt - 1, GAVE_UP, last_code, "")
        return None
