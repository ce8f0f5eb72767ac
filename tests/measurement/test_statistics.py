"""The uplift statistics against worked examples computed by hand (formulas in the comments), and the rule that
small samples are never called significant."""

from __future__ import annotations

import math

import pytest

from nightshift.measurement.statistics import (
    NOT_ENOUGH_DATA,
    NOT_SIGNIFICANT,
    SIGNIFICANT,
    Arm,
    conversion_uplift,
    gmv_uplift,
    roi,
)

Z_975 = 1.959964  # standard normal quantiles, from any table
Z_80 = 0.841621


def test_two_proportion_worked_example() -> None:
    # 120 of 1,000 treated and 100 of 1,000 holdout people converted.
    # pooled p = 220/2000 = 0.11; se0 = sqrt(0.11 * 0.89 * (1/1000 + 1/1000)) = 0.0139929; z = 0.02 / se0 = 1.42930
    # p = 2 * (1 - Phi(1.42930)) = erfc(1.42930 / sqrt 2) = 0.15292
    # se = sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000) = 0.0139857; CI = 0.02 -/+ 1.959964 * se
    # MDE, from the pooled rate: (1.959964 + 0.841621) * se0 = 2.801585 * 0.0139929 = 0.0392023
    result = conversion_uplift(Arm(1000, 120), Arm(1000, 100))
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000)
    assert result.uplift == pytest.approx(0.02)
    assert result.p_value == pytest.approx(math.erfc(0.02 / math.sqrt(0.11 * 0.89 * 0.002) / math.sqrt(2)))
    assert result.p_value == pytest.approx(0.15292, abs=1e-5)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.02 - Z_975 * se, 0.02 + Z_975 * se), abs=1e-6)
    assert (result.ci_low, result.ci_high) == pytest.approx((-0.007411, 0.047411), abs=1e-6)
    assert result.mde == pytest.approx((Z_975 + Z_80) * math.sqrt(0.11 * 0.89 * 0.002), abs=1e-6)
    assert result.mde == pytest.approx(0.0392023, abs=1e-6)
    assert result.verdict == NOT_SIGNIFICANT


def test_two_proportion_significant_example() -> None:
    # 150 of 1,000 vs 100 of 1,000: pooled 0.125, se0 = sqrt(0.125 * 0.875 * 0.002) = 0.0147902, z = 3.38062,
    # p = erfc(3.38062 / sqrt 2) = 0.000723
    result = conversion_uplift(Arm(1000, 150), Arm(1000, 100))
    assert result.p_value == pytest.approx(0.000723, abs=2e-6)
    assert result.verdict == SIGNIFICANT and result.ci_low > 0


def test_welch_worked_example() -> None:
    # Treated GMV per person [1, 2, 3]: sum 6, sum of squares 14, mean 2, variance (14 - 3 * 2^2) / 2 = 1.
    # Holdout [0, 0, 1, 3]: sum 4, sum of squares 10, mean 1, variance (10 - 4 * 1^2) / 3 = 2.
    # se = sqrt(1/3 + 2/4) = 0.912871; t = 1 / se = 1.095445;
    # df = (1/3 + 1/2)^2 / ((1/3)^2 / 2 + (1/2)^2 / 3) = 0.694444 / 0.138889 = 5 exactly.
    # Student's t with 5 df, two-sided (closed form for odd df, theta = atan(t / sqrt 5)):
    #   p = 1 - (2/pi) * (theta + sin(theta) cos(theta) (1 + 2/3 cos^2(theta))) = 0.32326
    # CI = 1 -/+ t_{0.975, 5} * se = 1 -/+ 2.570582 * 0.912871 = (-1.346609, 3.346609)
    result = gmv_uplift(Arm(3, 3, 6, 14), Arm(4, 2, 4, 10))
    theta = math.atan(1.095445 / math.sqrt(5))
    p = 1 - 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * (1 + 2 / 3 * math.cos(theta) ** 2))
    assert result.uplift == pytest.approx(1.0)
    assert result.p_value == pytest.approx(p, abs=1e-5)
    assert result.p_value == pytest.approx(0.32326, abs=1e-5)
    assert (result.ci_low, result.ci_high) == pytest.approx((-1.346609, 3.346609), abs=1e-5)
    # MDE from the pooled variance ((3 - 1) * 1 + (4 - 1) * 2) / (3 + 4 - 2) = 1.6:
    # 2.801585 * sqrt(1.6 * (1/3 + 1/4)) = 2.801585 * 0.966092 = 2.706590
    assert result.mde == pytest.approx(2.706590, abs=1e-5)
    assert result.verdict == NOT_ENOUGH_DATA  # three and four people


def test_small_samples_are_never_significant() -> None:
    # 40 of 50 vs 5 of 50 would be "p < 1e-10", but 50 people per arm is below the rule's 100
    tiny = conversion_uplift(Arm(50, 40), Arm(50, 5))
    assert tiny.p_value < 1e-10 and tiny.verdict == NOT_ENOUGH_DATA and not tiny.is_significant
    # enough people, but fewer than 5 converters in an arm: the normal approximation does not hold
    rare = conversion_uplift(Arm(5000, 30), Arm(5000, 4))
    assert rare.p_value < 0.001 and rare.verdict == NOT_ENOUGH_DATA
    few_buyers = gmv_uplift(Arm(500, 4, 4 * 10_000, 4 * 10_000**2), Arm(500, 20, 0, 0))
    assert few_buyers.verdict == NOT_ENOUGH_DATA


def test_identical_arms_show_no_uplift() -> None:
    same = conversion_uplift(Arm(2000, 200, 1e6, 1e10), Arm(2000, 200, 1e6, 1e10))
    assert same.uplift == 0 and same.p_value == pytest.approx(1.0) and same.ci_low < 0 < same.ci_high
    nobody = conversion_uplift(Arm(200, 0), Arm(200, 0))
    assert nobody.p_value == 1.0 and nobody.verdict == NOT_ENOUGH_DATA
    # a holdout without a buyer does not make a small effect "detectable"
    assert conversion_uplift(Arm(70, 2), Arm(36, 0)).mde > 0.05


def test_roi_is_incremental_gmv_over_cost() -> None:
    # treated 1,000 people, GMV 150,000 (150 per person); holdout 500 people, GMV 50,000 (100 per person):
    # incremental GMV = (150 - 100) * 1000 = 50,000; cost 10,000 -> ROI 5
    assert roi(Arm(1000, 100, 150_000), Arm(500, 40, 50_000), 10_000) == pytest.approx(5.0)
    assert roi(Arm(1000, 100, 150_000), Arm(500, 40, 50_000), 0) is None
