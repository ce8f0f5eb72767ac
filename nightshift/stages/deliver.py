"""Deliver stage: the night's sealed channel payloads sent through each channel's API, every record's outcome
appended to `audience.delivery_results` as it goes.

1. Endpoints and rate limits come from settings (NIGHTSHIFT_DELIVERY_ENDPOINTS / _RATE_LIMITS); with no endpoints
   the stage sends nothing and says so. Secrets come from environment variables only (`deliveries.api`).
2. Only sealed deliveries are read: `<exports>/<date>/<campaign>/<channel>/` with `_SUCCESS` and every part
   matching its manifest (`manifest.verify`); an unsealed folder is skipped and named in the summary.
3. Each contact's latest row decides what is left: `accepted` or `failed` (refused for good) is never sent again;
   `sending` (a crash mid-call), `retrying` and `gave_up` are sent again with the same idempotency key, so a
   vendor that already took the message answers with the first result instead of sending twice.
4. Calls go out in windows: a `sending` row per contact of the window before any of its calls, then every
   attempt's `retrying` / `accepted` / `failed` / `gave_up` after them (`deliveries.api.Sender`: token bucket per
   channel and vendor, exponential backoff on retryable errors only), each an insert, so a crash at any point
   leaves the contacts of the windows in flight (a few, `WINDOWS_IN_FLIGHT`) at `sending` at worst. The calls are
   read from the payload files one window at a time (`pending_work`), after a first read that only counts, so
   memory does not grow with the night's size. A call that fails for good for the whole channel (the vendor
   refuses the credentials) stops the channel: no further call goes out, and the stage fails with the vendor's
   answer; the next run, credentials fixed, resends what is left with the same idempotency keys.

Unlike every other stage this one never resets its partition: the table is the record of calls made to the
outside world, and a rerun continues it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path

from nightshift.deliveries.api import (
    CLIENTS,
    DEFAULT_RATE_LIMITS,
    FAILED,
    FINAL,
    SENDING,
    Batch,
    ChannelClient,
    Outcome,
    Sender,
)
from nightshift.deliveries.manifest import part_files, verify
from nightshift.errors import ConfigurationError
from nightshift.stages.context import StageContext, StageResult
from nightshift.warehouse.schema import ensure_tables

TABLE = "audience.delivery_results"
COLUMNS = ["run_date", "campaign_id", "channel", "contact_id", "attempt", "status", "vendor_code",
           "vendor_message_id", "sent_at"]  # fmt: skip
LATEST_SQL = """
SELECT campaign_id, contact_id, argMax(status, (sent_at, attempt)) AS status, max(attempt) AS attempts
FROM audience.delivery_results
WHERE run_date = {d:Date} AND channel = {channel:String}
GROUP BY campaign_id, contact_id
"""
# Calls made at once per channel, calls per window (one insert of `sending` rows before, one of outcomes after), and
# windows whose calls may be out at once (a crash leaves at most these at `sending`).
CALLERS = 8
WINDOW_CALLS = 64
WINDOWS_IN_FLIGHT = 4
PAYLOAD_EXTENSION = ".jsonl"  # the API bodies; an SMS folder also holds the Chuanglan CSV import, not sent here


class CallsStopped(Exception):
    """A call not made because another call of the channel failed for good."""


def json_setting(name: str, text: str) -> dict:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"NIGHTSHIFT_{name.upper()} is not JSON ({error}); expected e.g. "
                                 '{"sms": "http://127.0.0.1:8900"}') from None  # fmt: skip
    if not isinstance(value, dict):
        raise ConfigurationError(f"NIGHTSHIFT_{name.upper()} must be a JSON object {{channel: value}}")
    unknown = sorted(set(value) - set(CLIENTS))
    if unknown:
        raise ConfigurationError(f"NIGHTSHIFT_{name.upper()} names {unknown}; channels with an API client are "
                                 f"{sorted(CLIENTS)}")  # fmt: skip
    return value


@dataclass
class ChannelTally:
    """One channel's progress: contacts planned in sealed files, already done before this run, and this run's."""

    planned: int = 0
    done_before: int = 0
    accepted: int = 0
    failed: int = 0
    gave_up: int = 0
    calls: int = 0

    @property
    def remaining(self) -> int:
        return self.planned - self.done_before - self.accepted - self.failed - self.gave_up


@dataclass
class DeliveryReport:
    tallies: dict[str, ChannelTally] = field(default_factory=dict)
    unsealed: list[str] = field(default_factory=list)
    rows_written: int = 0


Progress = Callable[[str, ChannelTally], None]


def sealed_folders(exports_dir: Path, run_date: date, channel: str, report: DeliveryReport) -> Iterator[Path]:
    night = exports_dir / run_date.isoformat()
    for folder in sorted(night.glob(f"*/{channel}")):
        if not folder.is_dir():
            continue
        problems = verify(folder)
        if problems:
            report.unsealed.append(f"{folder} ({problems[0]})")
            continue
        yield folder


def batches(client: ChannelClient, folder: Path) -> Iterator[Batch]:
    campaign_id = folder.parent.name
    for part in part_files(folder):
        if part.suffix != PAYLOAD_EXTENSION:
            continue
        with part.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield client.batch(campaign_id, json.loads(line))


class ResultWriter:
    """Appends result rows: `sending` for a window of calls in one insert before any of them goes out, then what
    the calls' attempts reported in one insert after the window (a crash in between leaves `sending`)."""

    def __init__(self, client, run_date: date, channel: str):
        self.client, self.run_date, self.channel = client, run_date, channel
        self.rows = 0

    def _insert(self, rows: list[list]) -> None:
        if rows:
            self.client.insert(TABLE, rows, column_names=COLUMNS)
            self.rows += len(rows)

    def sending(self, window: list[Work]) -> None:
        moment = datetime.now(UTC)
        self._insert([[self.run_date, work.batch.campaign_id, self.channel, contact, work.first_attempt, SENDING, "",
                       "", moment] for work in window for contact in work.contacts])  # fmt: skip

    def reported(self, window: list[Work]) -> None:
        self._insert([[self.run_date, work.batch.campaign_id, self.channel, contact, attempt, status, code, message,
                       moment] for work in window for attempt, status, code, message, moment in work.events
                      for contact in work.contacts])  # fmt: skip


@dataclass
class Work:
    """One call still to make: the batch, its contacts not yet done, the attempt it starts at, what it reported."""

    batch: Batch
    contacts: list[str]
    first_attempt: int
    events: list[tuple] = field(default_factory=list)
    outcome: Outcome | None = None

    def record(self, attempt: int, status: str, vendor_code: str, message_id: str) -> None:
        if status == SENDING and attempt == self.first_attempt:
            return  # written before the window went out
        self.events.append((attempt, status, vendor_code, message_id, datetime.now(UTC)))


def pending_work(api: ChannelClient, folders: list[Path], latest: dict, tally: ChannelTally | None = None,
                 ) -> Iterator[Work]:  # fmt: skip
    """The calls still to make, read from the payload files as they are needed (a million WeChat bodies never sit in
    memory at once); with `tally`, counts every contact planned and already done on the way."""
    for folder in folders:
        for batch in batches(api, folder):
            states = [latest.get((batch.campaign_id, contact), ("", 0)) for contact in batch.contact_ids]
            left = [c for c, (status, _) in zip(batch.contact_ids, states, strict=True) if status not in FINAL]
            if tally is not None:
                tally.planned += len(batch.contact_ids)
                tally.done_before += len(batch.contact_ids) - len(left)
            if left:
                # contacts of one call share its outcome; the same idempotency key goes out however many are left
                yield Work(batch, left, max(attempts for _, attempts in states) + 1)


def windows(work: Iterator[Work], size: int) -> Iterator[list[Work]]:
    while window := list(islice(work, size)):
        yield window


def deliver_channel(
    warehouse, settings, run_date: date, channel: str, base_url: str, report: DeliveryReport,
    progress: Progress | None, dry_run: bool,
) -> None:  # fmt: skip
    limits = {**DEFAULT_RATE_LIMITS, **json_setting("delivery_rate_limits", settings.delivery_rate_limits)}
    api = CLIENTS[channel](base_url, settings.delivery_timeout)
    tally = report.tallies.setdefault(channel, ChannelTally())
    try:
        latest = {
            (campaign, contact): (status, attempts)
            for campaign, contact, status, attempts in warehouse.query(
                LATEST_SQL, parameters={"d": run_date, "channel": channel}
            ).result_rows
        }
        folders = list(sealed_folders(settings.exports_dir, run_date, channel, report))
        # a first read only counts (planned, done before, so the progress bar knows what is left); the second one
        # below streams the calls window by window
        for _ in pending_work(api, folders, latest, tally):
            pass
        if progress:
            progress(channel, tally)
        if dry_run:
            return
        sender = Sender(api, float(limits.get(channel, 0)), settings.delivery_max_attempts,
                        settings.delivery_backoff_seconds)  # fmt: skip
        writer = ResultWriter(warehouse, run_date, channel)

        failure: list[BaseException] = []  # the first call that failed for good (bad credentials): no more calls

        def call(item: Work) -> Work:
            if failure:
                raise CallsStopped
            try:
                item.outcome = sender.send(item.batch, item.first_attempt, item.record)
            except BaseException as error:
                failure.append(error)
                raise
            return item

        def finish(window: list[Work], calls: list[Future]) -> None:
            for future in calls:
                item = future.result()
                tally.calls += 1
                if item.outcome is None:
                    tally.gave_up += len(item.contacts)
                elif item.outcome.status == FAILED:
                    tally.failed += len(item.contacts)
                else:
                    tally.accepted += len(item.contacts)
            writer.reported(window)
            if progress:
                progress(channel, tally)

        def drain(keep: int) -> None:
            """Finish the oldest windows, in order, until at most `keep` are in flight and the oldest is still out."""
            while in_flight and (len(in_flight) > keep or all(future.done() for future in in_flight[0][1])):
                finish(*in_flight[0])
                in_flight.popleft()  # only once finished: on an error, its calls not yet made are cancelled below

        # Calls go out from a few threads (the bucket keeps the rate), so one-contact calls are not bound by the round
        # trip, and the warehouse sees two inserts per window instead of two per call. Several windows are in flight
        # at once: a call waiting out its backoff after a 503 holds up its own window's outcomes, not the next
        # windows' calls (one window at a time, a 1% share of 503s stalled half the windows for the whole backoff).
        in_flight: deque[tuple[list[Work], list[Future]]] = deque()
        with ThreadPoolExecutor(max_workers=CALLERS, thread_name_prefix=f"deliver-{channel}") as callers:
            try:
                for window in windows(pending_work(api, folders, latest), WINDOW_CALLS):
                    if failure:
                        raise CallsStopped
                    writer.sending(window)
                    in_flight.append((window, [callers.submit(call, item) for item in window]))
                    drain(WINDOWS_IN_FLIGHT)
                drain(0)
            except BaseException as error:
                # a call that cannot succeed (the vendor refused our credentials), or an interrupt: the calls not
                # yet made are not made; those already out finish, and their contacts stay at `sending`
                for _, calls in in_flight:
                    for future in calls:
                        future.cancel()
                if isinstance(error, CallsStopped) and failure:
                    raise failure[0] from None
                raise
        report.rows_written += writer.rows
    finally:
        api.close()


def deliver(
    warehouse, settings, run_date: date, channels: list[str] | None = None, progress: Progress | None = None,
    dry_run: bool = False,
) -> DeliveryReport:  # fmt: skip
    endpoints = json_setting("delivery_endpoints", settings.delivery_endpoints)
    report = DeliveryReport()
    ensure_tables(warehouse, TABLE)
    for channel in CLIENTS:
        if channel in endpoints and (not channels or channel in channels):
            deliver_channel(warehouse, settings, run_date, channel, endpoints[channel], report, progress, dry_run)
    return report


def summary(report: DeliveryReport, dry_run: bool = False) -> str:
    parts = []
    for channel, tally in report.tallies.items():
        if dry_run:
            parts.append(f"{channel}: {tally.planned} planned, {tally.done_before} done before, "
                         f"{tally.planned - tally.done_before} to send")  # fmt: skip
        else:
            parts.append(f"{channel}: {tally.accepted} accepted, {tally.failed} failed for good, "
                         f"{tally.gave_up} gave up (a rerun resends them), {tally.done_before} done before, "
                         f"{tally.calls} calls")  # fmt: skip
    if report.unsealed:
        parts.append(f"skipped unsealed: {'; '.join(report.unsealed)}")
    return "; ".join(parts) or "no sealed payloads for the configured channels"


def run(ctx: StageContext, channels: list[str] | None = None, progress: Progress | None = None) -> StageResult:
    if not json_setting("delivery_endpoints", ctx.settings.delivery_endpoints):
        message = "no delivery endpoints configured (NIGHTSHIFT_DELIVERY_ENDPOINTS is empty): nothing sent"
        return StageResult("deliver", ctx.run_date, summary=message)
    report = deliver(ctx.client, ctx.settings, ctx.run_date, channels, progress)
    rows = {TABLE: report.rows_written}
    rows.update({f"{channel} accepted": t.accepted for channel, t in report.tallies.items()})
    rows.update({f"{channel} failed": t.failed for channel, t in report.tallies.items()})
    return StageResult("deliver", ctx.run_date, rows=rows, summary=summary(report))
