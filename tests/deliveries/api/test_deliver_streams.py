"""The deliver stage reads its calls from the payload files window by window: a million one-contact WeChat bodies
never sit in memory at once, and contacts already done are skipped on the way."""

from __future__ import annotations

from datetime import date

from bench.synthetic.sealed_deliveries import SECRETS, write_sealed
from nightshift.deliveries.api import ACCEPTED, CLIENTS, FAILED
from nightshift.stages.deliver import ChannelTally, DeliveryReport, pending_work, sealed_folders, windows

RUN_DATE = date(2026, 3, 3)
CHANNEL = "wechat_oa_template"
PEOPLE = 300


class CountingClient(CLIENTS[CHANNEL]):
    """The real WeChat client, counting the payload lines it has turned into calls."""

    read = 0

    def batch(self, campaign_id, line):
        CountingClient.read += 1
        return super().batch(campaign_id, line)


def test_calls_are_read_one_window_at_a_time_and_done_contacts_skipped(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    write_sealed(tmp_path, RUN_DATE, {CHANNEL: PEOPLE})
    api = CountingClient("http://127.0.0.1:9", timeout=1.0)
    folders = list(sealed_folders(tmp_path, RUN_DATE, CHANNEL, DeliveryReport()))
    assert len(folders) == 1
    planned = [work.contacts[0] for work in pending_work(api, folders, {})]  # in file order
    assert len(planned) == PEOPLE
    campaign = folders[0].parent.name
    # the first two contacts are done (taken, refused for good), the third was cut off mid-call at attempt 2
    latest = {(campaign, planned[0]): (ACCEPTED, 1), (campaign, planned[1]): (FAILED, 1),
              (campaign, planned[2]): ("sending", 2)}  # fmt: skip

    tally = ChannelTally()
    assert sum(1 for _ in pending_work(api, folders, latest, tally)) == PEOPLE - 2
    assert (tally.planned, tally.done_before, tally.remaining) == (PEOPLE, 2, PEOPLE - 2)

    CountingClient.read = 0
    calls = windows(pending_work(api, folders, latest), 64)
    first = next(calls)
    assert CountingClient.read == 66, "only the first window (and the two done contacts before it) is read"
    assert [work.contacts[0] for work in first] == planned[2:66]
    assert first[0].first_attempt == 3, "a call cut off mid-way is resent as the next attempt, same key"
    rest = [work for window in calls for work in window]
    assert len(first) + len(rest) == PEOPLE - 2 and CountingClient.read == PEOPLE
    api.close()
