"""Uplift of a campaign variant against its holdout: the tests, their intervals, the minimum detectable effect.

Every function takes aggregates (people, converters, sums), so the statistics run from
`marts.campaign_measurement` alone, never from person rows.

- Conversion rate: difference of proportions (treated - holdout). Two-proportion z-test with the pooled rate
  under the null; the 95% interval uses the unpooled (Wald) standard error.
- GMV per person: difference of means (treated - holdout). Welch's t-test (unequal variances,
  Welch-Satterthwaite degrees of freedom, `scipy.stats.ttest_ind_from_stats`); the interval uses the same t.
- Minimum detectable effect (MDE): the smallest true difference a two-sided test at ALPHA would find with
  POWER at the current sample sizes: (z_{1-ALPHA/2} + z_{POWER}) * se, with se from both arms pooled (the pooled
  conversion rate; the pooled variance of GMV per person), so an arm without a single buyer does not make every
  effect look detectable.
- ROI = incremental GMV / cost, with incremental GMV = (treated - holdout GMV per person) x treated people.

The "not enough data" rule (never reported as significant, whatever its p-value): fewer than MIN_PEOPLE_PER_ARM
people in either arm, or, for the conversion rate, fewer than MIN_EVENTS_PER_CELL converters or non-converters in
either arm (the usual condition for the normal approximation of a proportion); for GMV per person, fewer than
MIN_EVENTS_PER_CELL converters in either arm (with fewer buyers the GMV distribution is a handful of orders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
POWER = 0.80
MIN_PEOPLE_PER_ARM = 100
MIN_EVENTS_PER_CELL = 5

NOT_ENOUGH_DATA = "not enough data"
SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not significant"


@dataclass(frozen=True)
class Arm:
    """One arm's aggregates: people, people who converted, and GMV per person as a sum and a sum of squares."""

    people: int
    converted: int
    gmv: float = 0.0
    gmv_sum_of_squares: float = 0.0

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.people if self.people else 0.0

    @property
    def gmv_per_person(self) -> float:
        return self.gmv / self.people if self.people else 0.0

    @property
    def gmv_variance(self) -> float:
        """Sample variance (n - 1) of GMV per person; 0 for fewer than two people."""
        if self.people < 2:
            return 0.0
        centred = self.gmv_sum_of_squares - self.people * self.gmv_per_person**2
        return max(centred, 0.0) / (self.people - 1)  # rounding can take an all-equal arm a hair below zero


@dataclass(frozen=True)
class Comparison:
    """Treated minus holdout on one metric, with its 95% interval, p-value, MDE and verdict."""

    treated: float
    holdout: float
    uplift: float
    ci_low: float
    ci_high: float
    p_value: float
    mde: float
    verdict: str

    @property
    def is_significant(self) -> bool:
        return self.verdict == SIGNIFICANT


def _z(quantile: float) -> float:
    return float(stats.norm.ppf(quantile))


def _verdict(enough: bool, p_value: float) -> str:
    if not enough:
        return NOT_ENOUGH_DATA
    return SIGNIFICANT if p_value < ALPHA else NOT_SIGNIFICANT


def enough_for_conversion(treated: Arm, holdout: Arm) -> bool:
    non_converted = (treated.people - treated.converted, holdout.people - holdout.converted)
    cells = (treated.converted, holdout.converted, *non_converted)
    return min(treated.people, holdout.people) >= MIN_PEOPLE_PER_ARM and min(cells) >= MIN_EVENTS_PER_CELL


def enough_for_gmv(treated: Arm, holdout: Arm) -> bool:
    return (
        min(treated.people, holdout.people) >= MIN_PEOPLE_PER_ARM
        and min(treated.converted, holdout.converted) >= MIN_EVENTS_PER_CELL
    )


def conversion_uplift(treated: Arm, holdout: Arm) -> Comparison:
    """Two-proportion z-test of treated vs holdout conversion rate, 95% Wald interval of the difference."""
    if treated.people == 0 or holdout.people == 0:
        raise ValueError(f"both arms need people to compare (treated {treated.people}, holdout {holdout.people})")
    p_t, p_c = treated.conversion_rate, holdout.conversion_rate
    difference = p_t - p_c
    pooled = (treated.converted + holdout.converted) / (treated.people + holdout.people)
    se_null = math.sqrt(pooled * (1 - pooled) * (1 / treated.people + 1 / holdout.people))
    p_value = 1.0 if se_null == 0 else float(2 * stats.norm.sf(abs(difference) / se_null))
    se = math.sqrt(p_t * (1 - p_t) / treated.people + p_c * (1 - p_c) / holdout.people)
    half = _z(1 - ALPHA / 2) * se
    mde_se = se_null
    return Comparison(
        treated=p_t,
        holdout=p_c,
        uplift=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        p_value=p_value,
        mde=(_z(1 - ALPHA / 2) + _z(POWER)) * mde_se,
        verdict=_verdict(enough_for_conversion(treated, holdout), p_value),
    )


def gmv_uplift(treated: Arm, holdout: Arm) -> Comparison:
    """Welch's t-test of treated vs holdout GMV per person, 95% interval with Welch-Satterthwaite df."""
    if treated.people < 2 or holdout.people < 2:
        raise ValueError(f"Welch's test needs two people per arm (treated {treated.people}, holdout {holdout.people})")
    m_t, m_c = treated.gmv_per_person, holdout.gmv_per_person
    v_t, v_c = treated.gmv_variance, holdout.gmv_variance
    difference = m_t - m_c
    se = math.sqrt(v_t / treated.people + v_c / holdout.people)
    if se == 0:
        p_value, half = (1.0 if difference == 0 else 0.0), 0.0
    else:
        test = stats.ttest_ind_from_stats(
            m_t, math.sqrt(v_t), treated.people, m_c, math.sqrt(v_c), holdout.people, equal_var=False
        )
        df = (v_t / treated.people + v_c / holdout.people) ** 2 / (
            (v_t / treated.people) ** 2 / (treated.people - 1) + (v_c / holdout.people) ** 2 / (holdout.people - 1)
        )
        p_value, half = float(test.pvalue), float(stats.t.ppf(1 - ALPHA / 2, df)) * se
    pooled_variance = ((treated.people - 1) * v_t + (holdout.people - 1) * v_c) / (treated.people + holdout.people - 2)
    mde_se = math.sqrt(pooled_variance * (1 / treated.people + 1 / holdout.people))
    return Comparison(
        treated=m_t,
        holdout=m_c,
        uplift=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        p_value=p_value,
        mde=(_z(1 - ALPHA / 2) + _z(POWER)) * mde_se,
        verdict=_verdict(enough_for_gmv(treated, holdout), p_value),
    )


def roi(treated: Arm, holdout: Arm, cost: float) -> float | None:
    """Incremental GMV / cost; None when nothing was spent (ROI is undefined, not infinite)."""
    if cost <= 0:
        return None
    return (treated.gmv_per_person - holdout.gmv_per_person) * treated.people / cost
