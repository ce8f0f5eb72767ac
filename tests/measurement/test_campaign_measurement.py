"""marts.campaign_measurement on synthetic campaigns written straight into the tables it reads
(tests/measurement/synthetic.py), and the uplift measured from it: an injected uplift is recovered within its
95% interval, an A/A split shows none, and hand-placed people on the edges of the rules are counted exactly.

One subprocess seeds a fresh warehouse, runs `dbt build --select +campaign_measurement` (models and their tests)
and reads the mart and `nightshift.measurement.measure`; every test reads its result.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from nightshift.measurement.statistics import SIGNIFICANT
from tests.conftest import run_cli, run_python
from tests.measurement.synthetic import (
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
from nightshift.settings import get_settings
from nightshift.warehouse import get_client
from tests.measurement.synthetic import RUN_DATE, seed_warehouse

settings = get_settings()
client = get_client(settings)
truth = seed_warehouse(client)
outcome = invoke_dbt("build", RUN_DATE, settings, ["--select", "+campaign_measurement"],
                     extra_vars={"conversion_windows": {"edges": 7}})
assert outcome.success, outcome.failure_report()
mart = client.query("SELECT * FROM marts.campaign_measurement ORDER BY campaign_id, variant, channel")
rows = [dict(zip(mart.column_names, row)) for row in mart.result_rows]
measured = {campaign: [asdict(row) for row in measure(client, campaign)] for campaign in ("injected", "aa", "edges")}
try:
    measure(client, "no_such_campaign")
    unknown = ""
except NightshiftError as error:
    unknown = str(error)
result = {"truth": truth, "mart": rows, "measured": measured, "unknown_campaign_error": unknown}
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


def test_an_unknown_campaign_is_refused_naming_the_campaigns_measured(measured) -> None:
    assert "no_such_campaign" in measured["unknown_campaign_error"]
    assert "aa, edges, injected" in measured["unknown_campaign_error"]
