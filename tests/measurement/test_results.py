"""A campaign's rows: each variant's channels summed into its `all` row, which alone is compared with the
holdout of its send date."""

from __future__ import annotations

from datetime import date

import pytest

from nightshift.measurement.results import ALL_CHANNELS, MeasurementRow, _with_variant_totals, as_record
from nightshift.measurement.statistics import Arm, conversion_uplift

DAY = date(2026, 11, 20)


def row(variant: str, channel: str, people: int, converted: int, gmv: int = 0, cost: int = 0) -> MeasurementRow:
    return MeasurementRow("c", DAY, variant, channel, 7, 7, people, people, 0, 0, converted, converted, gmv,
                          float(gmv) ** 2 / max(converted, 1), 0, cost)  # fmt: skip


def test_a_variants_channels_are_summed_and_only_the_total_is_compared_with_the_holdout() -> None:
    rows = [
        row("a", "app_push", 600, 90, 900_000, cost=50_000),
        row("a", "sms", 400, 30, 300_000),
        row("b", "sms", 500, 50, 500_000),
        row("holdout", "", 1000, 80, 600_000),
    ]
    out = _with_variant_totals(rows)
    assert [(r.variant, r.channel) for r in out] == [
        ("a", "app_push"), ("a", "sms"), ("a", ALL_CHANNELS), ("b", "sms"), ("b", ALL_CHANNELS), ("holdout", ""),
    ]  # fmt: skip
    total_a = out[2]
    assert (total_a.planned_people, total_a.converted_people, total_a.gmv_fen) == (1000, 120, 1_200_000)
    assert total_a.conversion == conversion_uplift(Arm(1000, 120), Arm(1000, 80))
    # ROI = (1,200 - 600 fen per person) x 1,000 people / 50,000 fen of cost = 12
    assert total_a.roi == pytest.approx(12.0)
    assert all(r.conversion is None for r in out if r.channel != ALL_CHANNELS)
    record = as_record(total_a)
    assert record["conversion_uplift"] == pytest.approx(0.04) and record["conversion_verdict"] == "significant"
    assert as_record(out[0])["conversion_uplift"] is None


def test_without_a_holdout_no_variant_is_compared() -> None:
    out = _with_variant_totals([row("care_call", "outbound_call", 7, 1)])
    assert [(r.channel, r.conversion) for r in out] == [("outbound_call", None), (ALL_CHANNELS, None)]
