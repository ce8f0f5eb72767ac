"""The deliver stage keeps several windows of calls in flight: a call waiting out its backoff after a 503 holds up
its own window's outcomes, never the next windows' calls."""

from __future__ import annotations

from datetime import date

from bench.synthetic.sealed_deliveries import SECRETS, endpoints_json, write_sealed
from nightshift.generate.channels import ChannelSimulator, SimulatorConfig
from nightshift.stages import deliver
from nightshift.stages.context import StageContext

RUN_DATE = date(2026, 3, 2)  # a date of its own: delivery_results is never reset
PEOPLE = {"wechat_oa_template": 5 * deliver.WINDOW_CALLS}  # one-contact calls: five windows
BACKOFF_SECONDS = 1.0  # far longer than the other windows' calls take
EVENTS_SQL = """
SELECT contact_id, status, sent_at FROM audience.delivery_results WHERE run_date = {d:Date} ORDER BY sent_at
"""


def test_a_call_waiting_out_its_backoff_does_not_hold_up_the_next_windows(tmp_path, settings, client, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    planned = write_sealed(settings.exports_dir, RUN_DATE, PEOPLE)
    config = SimulatorConfig(rate_limits={"wechat_oa_template": 0}, unavailable_share=0.05)
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
