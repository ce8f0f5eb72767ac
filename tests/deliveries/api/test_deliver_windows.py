"""The deliver stage keeps several windows of calls in flight: a call waiting out its backoff after a 503 holds up
its own window's outcomes, never the next windows' calls; a call that fails for good (the vendor refuses our
credentials) stops the channel's calls at once, and the run after the credentials are fixed sends each message once."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from bench.synthetic.sealed_deliveries import SECRETS, endpoints_json, write_sealed
from nightshift.deliveries.api import AuthenticationFailed
from nightshift.generate.channels import ChannelSimulator, SimulatorConfig, read_ledger
from nightshift.stages import deliver
from nightshift.stages.context import StageContext

RUN_DATE = date(2026, 3, 2)  # a date of its own: delivery_results is never reset
PEOPLE = {"wechat_oa_template": 5 * deliver.WINDOW_CALLS}  # one-contact calls: five windows
UNLIMITED = {"wechat_oa_template": 0}
BACKOFF_SECONDS = 1.0  # far longer than the other windows' calls take
EVENTS_SQL = """
SELECT contact_id, status, sent_at FROM audience.delivery_results WHERE run_date = {d:Date} ORDER BY sent_at
"""


@pytest.fixture(autouse=True)
def vendor_secrets(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def test_a_call_waiting_out_its_backoff_does_not_hold_up_the_next_windows(tmp_path, settings, client):
    planned = write_sealed(settings.exports_dir, RUN_DATE, PEOPLE)
    config = SimulatorConfig(rate_limits=UNLIMITED, unavailable_share=0.05)
    with ChannelSimulator(config, tmp_path / "ledger") as simulator:
        configured = settings.model_copy(update={
            "delivery_endpoints": endpoints_json(simulator.url, PEOPLE), "delivery_rate_limits": "",
            "delivery_backoff_seconds": BACKOFF_SECONDS,
        })  # fmt: skip
        result = deliver.run(StageContext(run_date=RUN_DATE, settings=configured, _client=client))
    assert "0 gave up" in result.summary, result.summary

    events: dict[str, dict[str, object]] = {}
    for contact, status, moment in client.query(EVENTS_SQL, parameters={"d": RUN_DATE}).result_rows:
        events.setdefault(contact, {}).setdefault(status, moment)  # each status's first moment
    assert set(events) == set(planned["wechat_oa_template"])
    retried = [c for c, seen in events.items() if "retrying" in seen]
    assert retried, "the simulator answered no 503: the test needs a call that waits out its backoff"
    # Contacts of one window share the moment their `sending` rows were written; a later window's rows come later.
    overtaken = [
        (waiting, other)
        for waiting in retried
        for other, seen in events.items()
        if seen["sending"] > events[waiting]["sending"]
        and events[waiting]["retrying"] < seen["accepted"] < events[waiting]["accepted"]
    ]
    assert overtaken, "no call of a later window went out while a call waited out its backoff"


def test_refused_credentials_stop_the_calls_and_the_next_run_sends_each_message_once(tmp_path, settings, client):
    run_date = date(2026, 3, 3)
    planned = write_sealed(settings.exports_dir, run_date, PEOPLE)
    ledger = tmp_path / "ledger"

    def deliver_once(config: SimulatorConfig):
        with ChannelSimulator(config, ledger) as simulator:
            configured = settings.model_copy(update={
                "delivery_endpoints": endpoints_json(simulator.url, PEOPLE), "delivery_rate_limits": "",
            })  # fmt: skip
            return deliver.run(StageContext(run_date=run_date, settings=configured, _client=client))

    with pytest.raises(AuthenticationFailed, match="WECHAT_APP_ID/WECHAT_SECRET"):
        deliver_once(SimulatorConfig(rate_limits=UNLIMITED, revoked_credentials=("wechat_oa_template",)))
    refused = read_ledger(ledger).calls
    assert refused and all(call["outcome"] == "refused" for call in refused), refused[:3]
    # each thread's call in progress may still ask for a token; nobody else's call goes out
    assert len(refused) <= 2 * deliver.CALLERS, f"{len(refused)} calls after the vendor refused the credentials"

    again = deliver_once(SimulatorConfig(rate_limits=UNLIMITED))
    assert "0 gave up" in again.summary, again.summary
    taken = Counter(send["key"] for send in read_ledger(ledger).sends)
    assert set(taken) == set(planned["wechat_oa_template"]) and set(taken.values()) == {1}
