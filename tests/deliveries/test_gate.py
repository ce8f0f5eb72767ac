"""The quality gate before export (nightshift/deliveries/gate.py): a Great Expectations checkpoint per campaign, in
a fresh warehouse of its own. A clean campaign passes; a planted opted-out person, a duplicate, a holdout row, a
bad phone number and an audience over its remaining budget each fail the gate of their campaign only, with the
expectation that caught it kept in audience.quality_gate and Data Docs written next to the report."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python

GATE = """
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from bench.synthetic.campaign_world import DEFAULT_POLICY, plan
from nightshift.contracts import CHANNELS
import pyarrow as pa
import pyarrow.parquet as pq
from nightshift.deliveries.gate import run_gate
from nightshift.lake import dataset_path
from nightshift.settings import get_settings
from nightshift.warehouse import ensure_databases, get_client
from nightshift.warehouse.schema import ensure_tables

night = date(2026, 11, 20)
client = get_client()
ensure_databases(client)
ensure_tables(client, "audience.campaign_audience", "audience.contact_history")
# the profile the audiences stage planned from: the segments stage's lake copy of the night
# people 1-99 may receive everything; 100 opted out of SMS (unsubscribed); 101 has complained
profile = {"one_id": list(range(1, 102)), **{f"can_receive_{c}": [1] * 101 for c in CHANNELS},
           "has_complaint": [int(i == 101) for i in range(1, 102)], "is_blacklisted": [0] * 101,
           "is_sms_unsubscribed": [int(i == 100) for i in range(1, 102)]}
profile_path = dataset_path(get_settings().lake_root, "user_profile", night)
Path(profile_path).mkdir(parents=True)
pq.write_table(pa.table(profile), f"{profile_path}/part-0.parquet")

def rows(campaign, people, channel="sms", variant="a", ref=None):
    def address(i):
        return ref or (f"+86138{i:08d}" if channel == "sms" else f"app-{i}")
    return [(night, campaign, i, f"{campaign}-{i}-{n}", variant, channel, address(i), datetime(2026, 11, 20, 2, 0),
             "coupon", 100) for n, i in enumerate(people)]

audience = rows("clean", range(1, 11)) + rows("clean", range(11, 15), channel="app_push")
audience += rows("opted_out", [*range(1, 6), 100]) + rows("complaint", [*range(1, 6), 101])
audience += rows("duplicate", [1, 2, 3, 3])
audience += rows("holdout_leak", [1, 2, 3]) + rows("holdout_leak", [3], channel="", variant="holdout", ref="-")
audience += rows("bad_phone", [1, 2]) + rows("bad_phone", [3], ref="+1 415 555 0100")
audience += rows("over_budget", range(1, 16))
audience += rows("surge", range(1, 16))  # 15 tonight, 2 on each of the three nights before: over 5 x the median
sent = datetime(2026, 11, 1)
history = [(night - timedelta(days=k), "surge", i, "sms", f"s{k}-{i}", "a", sent, "coupon", 100, "plan")
           for k in (1, 2, 3) for i in (1, 2)]
client.insert("audience.contact_history", history, column_names=["run_date", "campaign_id", "one_id", "channel",
              "contact_id", "variant", "send_at", "benefit_id", "cost_fen", "source"])
client.insert("audience.campaign_audience", audience, column_names=["run_date", "campaign_id", "one_id", "contact_id",
              "variant", "channel", "contact_ref", "send_at", "benefit_id", "cost_fen"])
plans = [plan(id=c, benefit={"id": "coupon", "unit_cost_fen": 100}, budget_fen=1000 if c == "over_budget" else None)
         for c in ("clean", "opted_out", "complaint", "duplicate", "holdout_leak", "bad_phone", "over_budget", "surge")]
import contextlib, io
progress = io.StringIO()  # what the gate writes to stderr (Great Expectations' progress bars go there)
with contextlib.redirect_stderr(progress):
    outcome = run_gate(client, night, plans, DEFAULT_POLICY, profile_path, get_settings().reports_dir,
                       {"over_budget": 200})
table = client.query("SELECT campaign_id, expectation, target, success, unexpected, observed FROM audience.quality_gate"
                     " ORDER BY campaign_id, expectation, target").result_rows
pages = sorted(str(page.relative_to(outcome.docs.parent)) for page in outcome.docs.parent.rglob("*.html")) \
    if outcome.docs else []
print("RESULT " + json.dumps({"failed": outcome.failed, "checked": outcome.checked,
                              "docs": str(outcome.docs) if outcome.docs else None, "pages": pages, "table": table,
                              "stderr": progress.getvalue()}, default=str))
"""


@pytest.fixture(scope="module")
def gate(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("gate")
    output = run_python(home, GATE, timeout=900)
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))


def test_the_gate_draws_no_progress_bars_in_the_nights_log(gate) -> None:
    assert gate["checked"], "the gate checked campaigns"
    assert "Calculating Metrics" not in gate["stderr"], gate["stderr"][:500]


def test_each_planted_fault_fails_its_own_campaign_only(gate) -> None:
    failed = {campaign: " ".join(why) for campaign, why in gate["failed"].items()}
    assert set(gate["checked"]) == {"clean", "opted_out", "complaint", "duplicate", "holdout_leak", "bad_phone",
                                    "over_budget", "surge"}  # fmt: skip
    assert set(failed) == set(gate["checked"]) - {"clean"}
    assert "can_receive" in failed["opted_out"] and "is_suppressed" not in failed["opted_out"]
    assert "is_suppressed" in failed["complaint"] and "can_receive" not in failed["complaint"]
    assert failed["duplicate"].startswith("expect_compound_columns_to_be_unique")
    assert failed["holdout_leak"] == "expect_column_values_to_be_in_set (in_holdout)"
    assert "expect_column_values_to_match_regex (contact_ref where channel in" in failed["bad_phone"]
    assert failed["over_budget"] == "expect_column_sum_to_be_between (cost_fen)"  # 1,500 fen against 800 left
    assert failed["surge"] == "expect_table_row_count_to_be_between (table)"  # 15 rows, band 0 .. 11


def test_every_expectation_outcome_is_kept_with_what_was_observed(gate) -> None:
    rows = [dict(zip(("campaign", "expectation", "target", "success", "unexpected", "observed"), row, strict=True))
            for row in gate["table"]]  # fmt: skip
    clean = [row for row in rows if row["campaign"] == "clean"]
    assert len(clean) == 8 and all(row["success"] == 1 for row in clean)
    (budget,) = [row for row in rows if row["campaign"] == "over_budget" and row["target"] == "cost_fen"]
    assert budget["success"] == 0 and json.loads(budget["observed"]) == 1500
    phone_rule = "contact_ref where channel in"
    (phone,) = [r for r in rows if r["campaign"] == "bad_phone" and r["target"].startswith(phone_rule)]
    assert phone["unexpected"] == 1 and "+1 415 555 0100" in phone["observed"]


def test_data_docs_are_written_next_to_the_report_with_a_page_per_campaign(gate) -> None:
    assert gate["docs"] and gate["docs"].endswith("index.html") and "/reports/2026-11-20/quality_gate/" in gate["docs"]
    # The site is built once, after the last campaign: it must still hold every campaign's validation.
    validations = [page for page in gate["pages"] if page.startswith("validations/")]
    for campaign in gate["checked"]:
        assert [page for page in validations if f"/2026-11-20__{campaign}/" in page], (campaign, gate["pages"])
    assert len(validations) == len(gate["checked"]), gate["pages"]
