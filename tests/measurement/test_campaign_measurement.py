"""marts.campaign_measurement on synthetic campaigns written straight into the tables it reads
(tests/measurement/synthetic.py), and the uplift measured from it: an injected uplift is recovered within its
95% interval, an A/A split shows none, and hand-placed people on the edges of the rules are counted exactly.

Retention curves (marts.campaign_retention) and funnels (marts.campaign_funnel) of the same people: exact on the
edges, the funnel's last step equal to the mart's converted people, the injected campaign's treated arm ahead of
its holdout.

One subprocess seeds a fresh warehouse, runs `dbt build --select +campaign_measurement +campaign_retention
+campaign_funnel` (models and their tests) and reads the marts and `nightshift.measurement.measure`; every test
reads its result.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from nightshift.campaigns.models import HOLDOUT
from nightshift.measurement.statistics import SIGNIFICANT
from tests.conftest import run_cli, run_python
from tests.measurement.synthetic import (
    ARM_PEOPLE,
    BASELINE,
    EDGES_EXPECTED,
    RUN_DATE,
    SEND_DATE,
    TRUE_CONVERSION_UPLIFT,
    TRUE_GMV_UPLIFT_FEN,
)

BUILD_AND_MEASURE = """
import json
from dataclasses import asdict
from nightshift.dbt_runner import invoke_dbt
from nightshift.errors import NightshiftError
from nightshift.measurement import measure
from nightshift.reporting.measurement import measurement as report_section
from nightshift.settings import get_settings
from nightshift.warehouse import get_client
from tests.measurement.synthetic import RUN_DATE, seed_warehouse

settings = get_settings()
client = get_client(settings)
truth = seed_warehouse(client)
outcome = invoke_dbt("build", RUN_DATE, settings,
                     ["--select", "+campaign_measurement", "+campaign_retention", "+campaign_funnel"],
                     extra_vars={"conversion_windows": {"edges": 7}})
assert outcome.success, outcome.failure_report()
mart = client.query("SELECT * FROM marts.campaign_measurement ORDER BY campaign_id, variant, channel")
rows = [dict(zip(mart.column_names, row)) for row in mart.result_rows]
def table(name):
    result = client.query(f"SELECT * FROM marts.{name}")
    return [dict(zip(result.column_names, row)) for row in result.result_rows]
measured = {campaign: [asdict(row) for row in measure(client, campaign)] for campaign in ("injected", "aa", "edges")}
try:
    measure(client, "no_such_campaign")
    unknown = ""
except NightshiftError as error:
    unknown = str(error)
section = report_section(client, RUN_DATE)
report = {
    "tables": {t.name: [dict(zip(t.columns, row)) for row in t.rows] for t in section.tables},
    "charts": {c.title: {"labels": c.labels, "series": c.series} for c in section.charts},
}
result = {"truth": truth, "mart": rows, "retention": table("campaign_retention"),
          "funnel": table("campaign_funnel"), "report": report, "measured": measured, "unknown_campaign_error": unknown}
print("RESULT " + json.dumps(result, default=str))
"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("measurement")
    output = run_python(home, BUILD_AND_MEASURE, timeout=900)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return {**json.loads(line.removeprefix("RESULT ")), "home": home}


def _variant_total(result: dict, campaign: str) -> dict:
    (total,) = [row for row in result["measured"][campaign] if row["channel"] == "all"]
    return total


def test_measurement_recovers_the_injected_uplift_within_its_interval(measured) -> None:
    total = _variant_total(measured, "injected")
    conversion, gmv = total["conversion"], total["gmv_per_person"]
    assert measured["truth"]["injected"]["extra_orders"] > 100, measured["truth"]
    assert conversion["ci_low"] <= TRUE_CONVERSION_UPLIFT <= conversion["ci_high"], conversion
    assert conversion["verdict"] == SIGNIFICANT and conversion["mde"] < TRUE_CONVERSION_UPLIFT, conversion
    assert gmv["ci_low"] <= TRUE_GMV_UPLIFT_FEN <= gmv["ci_high"], gmv
    assert gmv["verdict"] == SIGNIFICANT, gmv
    assert total["roi"] is None  # nothing was redeemed: ROI is undefined, never infinite


def test_an_aa_split_shows_no_significant_uplift(measured) -> None:
    assert measured["truth"]["aa"] == {"extra_orders": 0, "extra_gmv_fen": 0}
    total = _variant_total(measured, "aa")
    for metric in ("conversion", "gmv_per_person"):
        comparison = total[metric]
        assert comparison["verdict"] != SIGNIFICANT, comparison
        assert comparison["ci_low"] <= 0 <= comparison["ci_high"], comparison


def test_edges_of_the_window_export_delivery_and_redemption_are_counted_exactly(measured) -> None:
    rows = {(row["variant"], row["channel"]): row for row in measured["mart"] if row["campaign_id"] == "edges"}
    assert set(rows) == set(EDGES_EXPECTED)
    for key, expected in EDGES_EXPECTED.items():
        assert {column: rows[key][column] for column in expected} == expected, key
        assert rows[key]["send_date"] == SEND_DATE.isoformat()
        assert rows[key]["conversion_window_days"] == 7 and rows[key]["observed_days"] == 7
        assert rows[key]["is_window_complete"] and rows[key]["measured_through_date"] == RUN_DATE.isoformat()
    # six people are too few to compare: reported, never significant
    assert _variant_total(measured, "edges")["conversion"]["verdict"] == "not enough data"


def test_the_mart_has_one_row_per_campaign_send_date_variant_and_channel(measured) -> None:
    keys = [(row["campaign_id"], row["send_date"], row["variant"], row["channel"]) for row in measured["mart"]]
    assert len(keys) == len(set(keys)) == 6  # 3 campaigns x (one treated channel + holdout)


def test_campaign_measure_prints_the_warehouses_numbers(measured) -> None:
    completed = run_cli(measured["home"], "campaign", "measure", "injected", "--format", "csv")
    printed = list(csv.DictReader(io.StringIO(completed.stdout)))
    mart = {(row["variant"], row["channel"]): row for row in measured["mart"] if row["campaign_id"] == "injected"}
    by_key = {(row["variant"], row["channel"]): row for row in printed}
    assert set(by_key) == {*mart, ("copy_a", "all")}
    for key, row in mart.items():
        for column in ("planned_people", "exported_people", "converted_people", "conversion_orders", "gmv_fen"):
            assert int(by_key[key][column]) == row[column], (key, column)
    total, measured_total = by_key[("copy_a", "all")], _variant_total(measured, "injected")
    assert float(total["conversion_uplift"]) == pytest.approx(measured_total["conversion"]["uplift"], rel=1e-12)
    assert float(total["gmv_ci_low_fen"]) == pytest.approx(measured_total["gmv_per_person"]["ci_low"], rel=1e-12)
    assert total["conversion_verdict"] == SIGNIFICANT

    wide = {"COLUMNS": "240"}  # a terminal wide enough that rich folds no figure
    table = run_cli(measured["home"], "campaign", "measure", "injected", "--date", SEND_DATE.isoformat(), **wide).stdout
    treated = mart[("copy_a", "app_push")]
    assert f"{treated['planned_people']:,}" in table and f"{treated['converted_people']:,}" in table
    assert f"{measured_total['conversion']['uplift'] * 100:+.2f} pp" in table and SIGNIFICANT in table
    # then each arm's funnel and retention curve
    funnel = _funnels(measured, "injected")
    assert "What the people did after the send" in table
    for variant, (planned, came_back, paid) in funnel.items():
        assert f"{came_back:,} ({came_back / planned * 100:.1f}%)" in table, variant
        assert f"{paid:,} ({paid / planned * 100:.1f}%)" in table, variant


def test_an_unknown_campaign_is_refused_naming_the_campaigns_measured(measured) -> None:
    assert "no_such_campaign" in measured["unknown_campaign_error"]
    assert "aa, edges, injected" in measured["unknown_campaign_error"]


def _curves(measured: dict, campaign: str) -> dict[str, list[int]]:
    """variant -> active people on days 1..7 after the send."""
    rows = sorted((r for r in measured["retention"] if r["campaign_id"] == campaign), key=lambda r: r["day_after_send"])
    curves: dict[str, list[int]] = {}
    for row in rows:
        curves.setdefault(row["variant"], []).append(row["active_people"])
    return curves


def _funnels(measured: dict, campaign: str) -> dict[str, list[int]]:
    """variant -> people at steps 1..3 (planned, came back, paid order)."""
    rows = sorted((r for r in measured["funnel"] if r["campaign_id"] == campaign), key=lambda r: r["step_number"])
    funnels: dict[str, list[int]] = {}
    for row in rows:
        funnels.setdefault(row["variant"], []).append(row["people"])
    return funnels


def test_retention_and_funnel_count_the_edges_exactly(measured) -> None:
    # a bought on the send date (day 0: not counted), b on day 1, c on day 7 and day 8 (beyond), d nothing;
    # holdout e bought on day 3, f nothing
    assert _curves(measured, "edges") == {"v": [1, 0, 0, 0, 0, 0, 1], HOLDOUT: [0, 0, 1, 0, 0, 0, 0]}
    assert _funnels(measured, "edges") == {"v": [4, 2, 2], HOLDOUT: [2, 1, 1]}
    steps = {(r["step_number"], r["step_name"]) for r in measured["funnel"]}
    assert steps == {(1, "planned"), (2, "came back"), (3, "paid order")}
    assert all(row["is_observed"] for row in measured["retention"])  # the run date is 10 days after the send


def test_the_funnels_last_step_is_the_marts_converted_people(measured) -> None:
    converted: dict[tuple[str, str], int] = {}
    for row in measured["mart"]:
        key = (row["campaign_id"], row["variant"])
        converted[key] = converted.get(key, 0) + row["converted_people"]
    paid = {(r["campaign_id"], r["variant"]): r["people"] for r in measured["funnel"] if r["step_number"] == 3}
    assert paid == converted


def test_the_treated_arm_comes_back_more_than_the_holdout_only_when_uplift_was_injected(measured) -> None:
    injected, aa = _funnels(measured, "injected"), _funnels(measured, "aa")
    assert injected["copy_a"][0] == injected[HOLDOUT][0] == ARM_PEOPLE
    extra_buyers = injected["copy_a"][2] - injected[HOLDOUT][2]
    # the responder's extra orders convert about INJECTED_RATE x (1 - BASELINE) of the arm (2,160 extra on 3,000
    # would be absurd, 0 would mean the funnel missed them): within 4 standard errors of the expectation
    expected = TRUE_CONVERSION_UPLIFT * ARM_PEOPLE
    assert abs(extra_buyers - expected) < 4 * (2 * ARM_PEOPLE * BASELINE) ** 0.5, (extra_buyers, expected)
    assert abs(aa["copy_a"][2] - aa[HOLDOUT][2]) < 4 * (2 * ARM_PEOPLE * BASELINE) ** 0.5
    treated, holdout = _curves(measured, "injected")["copy_a"], _curves(measured, "injected")[HOLDOUT]
    assert sum(treated) - sum(holdout) > expected / 2, (treated, holdout)


def test_the_report_shows_each_arms_funnel_and_retention_curve(measured) -> None:
    tables, charts = measured["report"]["tables"], measured["report"]["charts"]
    funnel = {row["variant"]: row for row in tables["measurement__funnel"] if row["campaign_id"] == "edges"}
    assert {v: (r["planned"], r["came_back"], r["paid_order"], r["paid_order_pct"]) for v, r in funnel.items()} == {
        "v": (4, 2, 2, 50.0), HOLDOUT: (2, 1, 1, 50.0)}  # fmt: skip
    retention = {row["variant"]: row for row in tables["measurement__retention"] if row["campaign_id"] == "edges"}
    assert [retention["v"][f"day_{day}_pct"] for day in range(1, 8)] == [25.0, 0, 0, 0, 0, 0, 25.0]
    assert [retention[HOLDOUT][f"day_{day}_pct"] for day in range(1, 8)] == [0, 0, 50.0, 0, 0, 0, 0]
    chart = charts[f"Retention after {SEND_DATE}: injected (% active)"]
    assert chart["labels"] == [f"day {day}" for day in range(1, 8)] and set(chart["series"]) == {"copy_a", HOLDOUT}
    injected = {row["variant"]: row for row in tables["measurement__funnel"] if row["campaign_id"] == "injected"}
    assert injected["copy_a"]["paid_order_pct"] > injected[HOLDOUT]["paid_order_pct"]
