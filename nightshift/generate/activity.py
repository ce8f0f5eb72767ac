"""What happens on one simulated day, independent of how any system writes it down.

`simulate_day` turns the population's propensities into the day's facts (app sessions and events, orders,
benefit grants, outbound messages). The source writers then render these facts in each platform's shape, so
one order shows up consistently in the app's event log, the order export and the benefit ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from nightshift.generate.ids import day_start_epoch, rng_for, times_in_day
from nightshift.generate.pools import SKUS
from nightshift.generate.population import Population

# App event mix for ordinary browsing (order events come from the orders themselves).
BROWSE_EVENTS = ("page_view", "search", "add_to_cart", "valuation", "coupon_claim", "share", "survey_answer")
BROWSE_WEIGHTS = (0.62, 0.14, 0.07, 0.1, 0.03, 0.03, 0.01)
SKU_PRICES = np.array([s[3] for s in SKUS], dtype=np.int64)
DEVICE_SKUS = np.array([i for i, s in enumerate(SKUS) if s[2] != "accessory"])


@dataclass
class Day:
    index: int
    date: date
    start: int  # epoch seconds, Beijing midnight
    end: int

    @property
    def is_first(self) -> bool:
        return self.index == 0

    @property
    def stamp(self) -> str:
        return self.date.isoformat()

    def joined(self, times: np.ndarray) -> np.ndarray:
        """Members a snapshot file of this day shows as new: everyone so far on the first day, else today's."""
        if self.is_first:
            return times < self.end
        return (times >= self.start) & (times < self.end)


def make_day(index: int, day: date) -> Day:
    start = day_start_epoch(day)
    return Day(index=index, date=day, start=start, end=start + 86400)


@dataclass
class Orders:
    person: np.ndarray
    seq: np.ndarray  # global order number (unique across days)
    is_c2b: np.ndarray
    sku: np.ndarray  # index into SKUS
    quantity: np.ndarray
    total: np.ndarray  # fen
    discount: np.ndarray  # fen
    has_coupon: np.ndarray
    created: np.ndarray
    paid: np.ndarray  # epoch seconds, 0 when unpaid
    status: np.ndarray  # index into ORDER_STATUSES
    cancel_reason_idx: np.ndarray  # -1 when not cancelled
    cancelled_at: np.ndarray
    refunded: np.ndarray
    refund_time: np.ndarray
    channel_mp: np.ndarray


@dataclass
class Browse:
    person: np.ndarray
    device_slot: np.ndarray
    logged_in: np.ndarray
    event_idx: np.ndarray  # index into BROWSE_EVENTS
    time_ms: np.ndarray


@dataclass
class DayFacts:
    day: Day
    active_app: np.ndarray  # person indices with an app session today
    browse: Browse
    orders: Orders
    grant_person: np.ndarray
    grant_time: np.ndarray
    grant_amount: np.ndarray
    grant_campaign: np.ndarray
    template_person: np.ndarray  # template messages sent to OA followers today
    template_time: np.ndarray
    template_ok: np.ndarray


def _following(pop: Population, at: int) -> np.ndarray:
    return pop.oa & (pop.oa_subscribe < at) & (pop.oa_unsubscribe > at)


def simulate_day(pop: Population, day: Day, seed: int) -> DayFacts:
    rng = rng_for(seed, "activity", day.stamp)
    engaged = pop.app & (pop.app_register < day.end) & (pop.churn_time > day.start)

    # Heavy-tailed activity: most people rarely open the app, a few open it many times a day.
    p_active = 1.0 - np.exp(-pop.activity)
    active = np.flatnonzero(engaged & (rng.random(pop.n) < p_active))
    per_person = 1 + rng.poisson(np.minimum(pop.activity[active] * 4.0, 60.0))
    person = np.repeat(active, per_person)
    m = len(person)
    device_slot = rng.integers(0, 3, m) % pop.device_count[person]
    browse = Browse(
        person=person,
        device_slot=device_slot,
        logged_in=rng.random(m) < 0.9,
        event_idx=rng.choice(len(BROWSE_EVENTS), size=m, p=BROWSE_WEIGHTS),
        time_ms=times_in_day(rng, m, day.start) * 1000 + rng.integers(0, 1000, m),
    )

    # Orders: repeat buyers come from the heavy tail of purchase_rate.
    count = rng.poisson(pop.purchase_rate * engaged)
    buyers = np.repeat(np.arange(pop.n), count)
    k = len(buyers)
    is_c2b = rng.random(k) < pop.c2b_share[buyers]
    sku = np.where(is_c2b, DEVICE_SKUS[rng.integers(0, len(DEVICE_SKUS), k)], rng.integers(0, len(SKUS), k))
    quantity = np.where(is_c2b, 1, rng.choice([1, 1, 1, 2, 3], size=k))
    unit = (
        (SKU_PRICES[sku] * np.where(is_c2b, rng.uniform(0.35, 0.7, k), rng.uniform(0.85, 1.05, k))).astype(np.int64)
        // 100
        * 100
    )
    total = unit * quantity
    has_coupon = (~is_c2b) & (rng.random(k) < 0.2)
    discount = np.where(has_coupon, np.minimum(rng.choice([500, 1000, 2000, 5000], size=k), total // 2), 0)
    created = times_in_day(rng, k, day.start)
    created = np.minimum(created, day.end - 3 * 3600)  # leave time for payment within the day
    outcome = rng.random(k)
    # b2c: 80% paid, 15% cancelled, 5% left unpaid. c2b: 45% completed, 35% cancelled, 20% pending.
    paid_mask = np.where(is_c2b, outcome < 0.45, outcome < 0.8)
    cancelled = np.where(is_c2b, (outcome >= 0.45) & (outcome < 0.8), (outcome >= 0.8) & (outcome < 0.95))
    paid = np.where(paid_mask, created + rng.integers(10, 3600, k), 0)
    status = np.where(cancelled, 4, np.where(paid_mask, np.where(is_c2b, 3, rng.choice([1, 2, 3], size=k)), 0)).astype(
        np.int8
    )
    refunded = paid_mask & (~is_c2b) & (rng.random(k) < 0.04)
    status = np.where(refunded, 5, status).astype(np.int8)
    cancel_reason_idx = np.where(cancelled, rng.integers(0, 5, k), -1)
    orders = Orders(
        person=buyers,
        seq=day.index * 10_000_000 + np.arange(k),
        is_c2b=is_c2b,
        sku=sku,
        quantity=quantity,
        total=total,
        discount=discount,
        has_coupon=has_coupon,
        created=created,
        paid=paid,
        status=status,
        cancel_reason_idx=cancel_reason_idx,
        cancelled_at=np.where(cancelled, created + rng.integers(60, 7200, k), 0),
        refunded=refunded,
        refund_time=np.where(refunded, paid + rng.integers(600, 3600, k), 0),
        channel_mp=pop.mp[buyers] & (rng.random(k) < 0.3),
    )

    # Campaign grants to a slice of engaged users, plus one grant per coupon_claim event.
    campaign = np.flatnonzero(engaged & (rng.random(pop.n) < 0.02))
    claims = browse.event_idx == BROWSE_EVENTS.index("coupon_claim")
    claim_people = browse.person[claims & browse.logged_in]
    grant_person = np.concatenate([campaign, claim_people])
    grant_time = np.concatenate(
        [times_in_day(rng, len(campaign), day.start), (browse.time_ms[claims & browse.logged_in] // 1000)]
    )
    g = len(grant_person)
    grant_campaign = np.concatenate([rng.integers(0, 4, len(campaign)), np.full(len(claim_people), 4)])

    followers = np.flatnonzero(_following(pop, day.start))
    template_person = followers[rng.random(len(followers)) < 0.03]
    t = len(template_person)
    return DayFacts(
        day=day,
        active_app=active,
        browse=browse,
        orders=orders,
        grant_person=grant_person,
        grant_time=grant_time,
        grant_amount=rng.choice([500, 1000, 2000, 3000, 5000], size=g),
        grant_campaign=grant_campaign,
        template_person=template_person,
        template_time=times_in_day(rng, t, day.start),
        template_ok=rng.random(t) < 0.93,
    )
