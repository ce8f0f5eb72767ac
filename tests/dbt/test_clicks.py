"""Clicks from the redirect service's log to the marts, in a fresh warehouse of its own (one subprocess): the
click log written by `ClickLog` is ingested like any source (a re-delivered line loaded once, a malformed line and
a line without its ip_hash quarantined with their reasons), dbt resolves each code to its campaign and person
through audience.short_links of earlier nights, `marts.user_profile.last_clicked_at` is the person's latest
click (null when none), and `marts.campaign_measurement.clicked_people` counts clicked people per variant."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python
from tests.dbt.test_build import RUN_DATE, SEED_CODE

CLICKS_CODE = (
    SEED_CODE
    + """
import json
from datetime import UTC, date, datetime
from nightshift.ingest.day import ingest_day
from nightshift.settings import get_settings
from nightshift.shortcodes import encode
from nightshift.shortlinks.clicklog import ClickLog
from nightshift.stages import build
from nightshift.stages.context import StageContext

settings = get_settings()
run_date = date(2026, 11, 21)
sent = date(2026, 11, 20)  # the export night before: its links are what tonight's clicks resolve against
ensure_tables(client, "audience.short_links", "audience.campaign_audience")
link = {one_id: encode("winback_lapsed", one_id) for one_id in (1, 2)}
client.insert("audience.short_links",
              [(sent, link[1], "winback_lapsed", 1, "sms", "coupon_copy_a", "https://shop.example/w"),
               (sent, link[2], "winback_lapsed", 2, "sms", "coupon_copy_b", "https://shop.example/w")],
              column_names=["run_date", "code", "campaign_id", "one_id", "channel", "variant", "landing_url"])
planned = [(sent, "winback_lapsed", 1, "k1", "coupon_copy_a", "sms"), (sent, "winback_lapsed", 2, "k2",
           "coupon_copy_b", "sms"), (sent, "winback_lapsed", 3, "k3", "holdout", "")]
client.insert("audience.campaign_audience", planned,
              column_names=["run_date", "campaign_id", "one_id", "contact_id", "variant", "channel"])

log = ClickLog(settings.landing_dir, "salt")
log.record(link[1], "Mozilla/5.0", "10.0.0.1", datetime(2026, 11, 21, 2, 0, tzinfo=UTC))
log.record(link[1], "Mozilla/5.0", "10.0.0.1", datetime(2026, 11, 21, 5, 30, 15, 250000, tzinfo=UTC))
log.record(encode("winback_lapsed", 999), "bot", "10.0.0.9", datetime(2026, 11, 21, 6, 0, tzinfo=UTC))  # no one's
log.close()
path = log.path_for(run_date)
lines = path.read_text(encoding="utf-8").splitlines()
with path.open("a", encoding="utf-8") as handle:
    handle.write(lines[0] + "\\n")  # the same click delivered twice
    handle.write('{"click_id": "broken", "code": \\n')  # cut off mid-line
    handle.write('{"click_id": "c9", "code": "x", "clicked_at": "2026-11-21T01:00:00Z"}\\n')  # no ip_hash

summary = ingest_day(run_date, "clicks", settings, client=client)
raw = client.query("SELECT count(), uniqExact(click_id) FROM raw.clicks__clicks").result_rows[0]
quarantined = client.query("SELECT reason_code, line_number FROM raw.quarantine WHERE source = 'clicks' "
                           "ORDER BY line_number").result_rows
result = build.run(StageContext(run_date=run_date, settings=settings, _client=client))
profile = client.query("SELECT one_id, toString(last_clicked_at) FROM marts.user_profile ORDER BY one_id").result_rows
measured = client.query("SELECT variant, planned_people, clicked_people FROM marts.campaign_measurement "
                        "WHERE campaign_id = 'winback_lapsed' ORDER BY variant").result_rows
resolved = client.query("SELECT count(), uniqExact(click_id) FROM intermediate.int_clicks_resolved").result_rows[0]
print("RESULT " + json.dumps({"summary": summary, "raw": raw, "quarantined": quarantined, "profile": profile,
                              "measured": measured, "resolved": resolved, "build": result.summary}, default=str))
"""
)


@pytest.fixture(scope="module")
def clicks(tmp_path_factory) -> dict:
    output = run_python(tmp_path_factory.mktemp("clicks"), CLICKS_CODE, timeout=600)
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))


def test_the_click_log_is_ingested_once_per_click_and_bad_lines_quarantined(clicks):
    assert clicks["raw"] == [3, 3], "three clicks, the re-delivered line loaded once"
    (file,) = clicks["summary"]
    assert (file["loaded"], file["duplicates"], file["quarantined"]) == (3, 1, 2)
    assert clicks["quarantined"] == [["malformed_json", 5], ["missing_required", 6]]


def test_last_clicked_at_is_the_latest_resolved_click(clicks):
    assert RUN_DATE == "2026-11-21"
    profile = dict(map(tuple, clicks["profile"]))
    assert profile[1] == "2026-11-21 05:30:15.250"
    assert profile[2] is None and profile[3] is None, "never clicked: null"
    assert clicks["resolved"] == [2, 2], "the code nobody was sent resolves to nobody"


def test_clicked_people_per_variant(clicks):
    assert clicks["measured"] == [["coupon_copy_a", 1, 1], ["coupon_copy_b", 1, 0], ["holdout", 1, 0]]
