"""Acceptance: the deliver stage against the channel simulator with faults and throttling on: every planned
message taken exactly once (the simulator's ledger), none lost, each channel's call rate within its limit
(busiest second <= limit x 1.05, from the simulator's own timestamps), permanent refusals recorded as `failed`
with the vendor's code, a rerun sends nothing more, and no secret in logs, results or the ledger."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date

import pytest

from bench.synthetic.sealed_deliveries import SECRETS, endpoints_json, write_sealed
from nightshift.deliveries.sms import batch_key
from nightshift.generate.channels import SimulatorConfig, SimulatorProcess, address_fails, read_ledger
from nightshift.generate.responder.api_sends import contact_statuses
from nightshift.stages import deliver
from nightshift.stages.context import StageContext

RUN_DATE = date(2026, 3, 1)  # a date of its own: delivery_results is never reset
LIMITS = {"sms": 10, "app_push": 5, "wechat_oa_template": 50, "wecom": 50}
PEOPLE = {"sms": 1500, "app_push": 2500, "wechat_oa_template": 200, "wecom": 200}
INVALID_SHARE = 0.05
TOLERANCE = 1.05
LATEST_SQL = """
SELECT channel, contact_id, argMax(status, (sent_at, attempt)), argMax(vendor_code, (sent_at, attempt)), count()
FROM audience.delivery_results WHERE run_date = {d:Date} GROUP BY channel, contact_id
"""


@pytest.fixture
def delivered(tmp_path, settings, client, monkeypatch, caplog):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    planned = write_sealed(settings.exports_dir, RUN_DATE, PEOPLE)
    config = SimulatorConfig(
        rate_limits=LIMITS, unavailable_share=0.08, slow_share=0.04, slow_seconds=0.6, throttle_share=0.05,
        invalid_share=INVALID_SHARE, token_ttl_calls=60,
    )  # fmt: skip
    caplog.set_level(logging.DEBUG)
    # in a process of its own, as the vendor is: the simulator stamps each call as it arrives however busy the
    # sending threads keep this interpreter (sharing it, a starved simulator stamped late calls in bunches)
    with SimulatorProcess(config, tmp_path / "ledger") as simulator:
        configured = settings.model_copy(update={
            "delivery_endpoints": endpoints_json(simulator.url, PEOPLE), "delivery_rate_limits": json.dumps(LIMITS),
            "delivery_timeout": 0.4, "delivery_max_attempts": 12, "delivery_backoff_seconds": 0.02,
        })  # fmt: skip
        ctx = StageContext(run_date=RUN_DATE, settings=configured, _client=client)
        first = deliver.run(ctx)
        rerun = deliver.run(ctx)
    return planned, read_ledger(tmp_path / "ledger"), first, rerun, caplog.text


def test_every_message_taken_exactly_once_at_the_limits_and_no_secret_leaks(delivered, client, tmp_path, settings):
    planned, ledger, first, rerun, logs = delivered
    latest = {
        (c, k): (s, code, n) for c, k, s, code, n in client.query(LATEST_SQL, parameters={"d": RUN_DATE}).result_rows
    }
    for channel, contacts in planned.items():
        # exactly once: every planned address handed a message (or refused for good) once, none twice, none lost
        handled = Counter(s["address"] for s in ledger.sends if s["channel"] == channel)
        assert set(handled) == set(contacts.values()), channel
        assert set(handled.values()) == {1}, f"{channel}: {[a for a, n in handled.items() if n > 1][:5]} twice"
        statuses = Counter(latest[(channel, contact)][0] for contact in contacts)
        refused_at_once = channel in ("wechat_oa_template", "wecom")
        failing = {c for c, address in contacts.items() if address_fails(channel, address, INVALID_SHARE)}
        assert failing, f"{channel}: the test needs some permanently failing addresses"
        expected_failed = failing if refused_at_once else set()
        assert {c for c in contacts if latest[(channel, c)][0] == "failed"} == expected_failed, channel
        assert statuses["accepted"] == len(contacts) - len(expected_failed), (channel, statuses)
        # the rate: the busiest second of calls the simulator saw stays within the limit
        busiest = ledger.busiest_second(channel)
        assert busiest <= LIMITS[channel] * TOLERANCE + 1e-9, f"{channel}: {busiest} calls in one second"
    codes = {latest[(channel, c)][1] for channel in ("wechat_oa_template", "wecom") for c in planned[channel]
             if latest[(channel, c)][0] == "failed"}  # fmt: skip
    assert codes == {"43004", "84061"}
    # the faults really happened, and were retried through
    outcomes = Counter(call["outcome"] for call in ledger.calls)
    assert outcomes["throttled"] and outcomes["unavailable"] and outcomes["slow"], outcomes
    assert any(call["code"] == "42001" for call in ledger.calls), "no token expired and was refreshed"
    assert "0 gave up" in first.summary and "0 accepted" in rerun.summary and "0 calls" in rerun.summary
    assert not any(status == "sending" for status, _, _ in latest.values())

    # the ledger keys recipients as the vendors see them, and the sealed payloads alone give those keys back (the
    # simulated world maps its receipts to contact_ids that way): SMS <OutId>/<phone>, push <batch key>/<alias>
    expected_keys = set()
    for part in sorted(settings.exports_dir.glob(f"{RUN_DATE}/*/*/part-*.jsonl")):
        for line in map(json.loads, part.read_text().splitlines()):
            body, channel = line["body"], part.parent.name
            if channel == "sms":
                expected_keys |= {f"{body['OutId']}/{phone}" for phone in json.loads(body["PhoneNumberJson"])}
            elif channel == "app_push":
                expected_keys |= {f"{batch_key(line['contact_ids'])}/{alias}" for alias in body["audience"]["alias"]}
    assert {s["key"] for s in ledger.sends if s["channel"] in ("sms", "app_push")} == expected_keys
    # ...which is how the simulated world answers tomorrow: every planned contact found in the ledger
    answered = contact_statuses(settings.exports_dir / RUN_DATE.isoformat(), tmp_path / "ledger")
    assert set(answered) == {contact for contacts in planned.values() for contact in contacts}
    assert all(answered.values()), "a planned contact is missing from the ledger"
    # no secret in the logs, the stage's results, the table or what the vendor received in clear
    rows = client.query("SELECT * FROM audience.delivery_results WHERE run_date = {d:Date}", parameters={"d": RUN_DATE})
    ledger_dir = tmp_path / "ledger"
    texts = [logs, first.summary, rerun.summary, json.dumps(first.as_dict()), repr(rows.result_rows),
             (ledger_dir / "sends.jsonl").read_text(), (ledger_dir / "calls.jsonl").read_text()]  # fmt: skip
    assert "HTTP Request" not in logs  # httpx's request lines carry tokens in their URLs
    for name, secret in SECRETS.items():
        if name.endswith("SECRET"):
            assert not any(secret in text for text in texts), f"{name} leaked"


def test_without_endpoints_the_stage_sends_nothing_and_says_so(settings):
    ctx = StageContext(run_date=RUN_DATE, settings=settings.model_copy(update={"delivery_endpoints": ""}))
    result = deliver.run(ctx)
    assert "NIGHTSHIFT_DELIVERY_ENDPOINTS is empty" in result.summary and not result.rows
