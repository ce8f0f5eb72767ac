"""The statistics are calibrated on the responder's own conversions: over many simulated experiments, the 95%
interval covers the injected uplift about 95% of the time, and an A/A split is called significant about 5% of the
time (never more than chance allows). Pure numpy and scipy: a few seconds."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from nightshift.generate.responder.conversions import draw_conversions
from nightshift.generate.responder.exports import NO_SEND_AT, Contacts
from nightshift.measurement.statistics import Arm, conversion_uplift, gmv_uplift
from tests.measurement.synthetic import BASELINE, SKU_PRICES, WINDOW_DAYS

EXPERIMENTS = 300
PEOPLE = 2000
SEND_DAY = date(2026, 11, 11)


def _contacts(n: int) -> Contacts:
    text = np.full(n, "x", dtype=object)
    return Contacts(
        source_file=text, campaign_id=text, channel=np.full(n, "sms", dtype=object), one_id=text, variant=text,
        contact_id=np.array([str(k) for k in range(n)], dtype=object), contact_ref=text, template_id=text,
        benefit_id=np.full(n, "", dtype=object), send_at=np.full(n, NO_SEND_AT, dtype=np.int64),
        cost_fen=np.zeros(n, dtype=np.int64),
    )  # fmt: skip


CONTACTS = _contacts(PEOPLE)


def _arm(rng: np.random.Generator, rate: float) -> Arm:
    """PEOPLE people buying at the world's BASELINE, plus the responder's extra orders at `rate`."""
    gmv = np.where(rng.random(PEOPLE) < BASELINE, SKU_PRICES[rng.integers(0, len(SKU_PRICES), PEOPLE)], 0)
    rates = np.full(PEOPLE, rate)
    extra = draw_conversions(CONTACTS, np.ones(PEOPLE, bool), np.zeros(PEOPLE, bool), rates, WINDOW_DAYS, SEND_DAY, rng)
    gmv[extra.row] += extra.total - extra.discount
    gmv = gmv.astype(np.float64)
    return Arm(PEOPLE, int((gmv > 0).sum()), float(gmv.sum()), float((gmv * gmv).sum()))


@pytest.mark.parametrize("rate", [0.0, 0.08])
def test_intervals_cover_the_injected_uplift_and_aa_splits_are_rarely_significant(rate: float) -> None:
    rng = np.random.default_rng(2026)
    truth = {"conversion": rate * (1 - BASELINE), "gmv": rate * float(SKU_PRICES.mean())}
    covered = {"conversion": 0, "gmv": 0}
    significant = {"conversion": 0, "gmv": 0}
    for _ in range(EXPERIMENTS):
        holdout, treated = _arm(rng, 0.0), _arm(rng, rate)
        for metric, comparison in (("conversion", conversion_uplift(treated, holdout)),
                                   ("gmv", gmv_uplift(treated, holdout))):  # fmt: skip
            covered[metric] += comparison.ci_low <= truth[metric] <= comparison.ci_high
            significant[metric] += comparison.is_significant
    for metric in covered:
        # 95% nominal: with 300 experiments, a binomial 99.9% band is about 0.91 .. 0.985
        assert 0.90 <= covered[metric] / EXPERIMENTS <= 0.99, (metric, covered)
        if rate == 0.0:
            assert significant[metric] / EXPERIMENTS <= 0.09, (metric, significant)  # 5% nominal
        else:
            assert significant[metric] / EXPERIMENTS >= 0.8, (metric, significant)  # the MDE is below the uplift
