"""Conversions: the orders a campaign's message causes, on top of the orders the world places anyway.

The world (`nightshift generate`) already gives every app user their own orders, treated or not. The responder adds,
for each contact of a campaign file, an EXTRA order with probability `incremental_rate` (per campaign and variant,
`ResponderRates.conversion_rate_for`), placed within `conversion_window_days` days of the send. Holdout people are
never exported, so they buy only at the world's rate: the difference a measurement sees between a variant and the
holdout is what the responder injected. Setting every rate to 0 gives an A/A world (no effect at all).

What the injected rate means, exactly: each contacted person who can buy gets one extra paid order with
probability `rate`, whatever the world does for them. Since some of them would have bought anyway, the expected
uplift in the share of people who buy is `rate x buyers/contacts x (1 - baseline)`, while the uplift in GMV per
person is additive: `orders x mean order value / contacts` (recorded exactly in the truth file).

Who can buy: a contact the world knows (`people.People`) with an app account registered before the send; the order
system keys orders by app user_id, and only app accounts place orders in the world too. Contacts of hand-written
exports (no `_truth/world.json`) never convert.

A contact whose benefit (coupon) was granted pays with it: the order carries `coupon_id` = the benefit and a
discount of the grant's planned amount, and the benefit ledger gets a redemption of the contact's grant.

Landing files (named by the business date D answered, like the other answers): `orders/<day>/
orders_responses_<D>.csv` and `order_items_responses_<D>.csv`, `benefits/<day>/redemptions_responses_<D>.csv`,
on the day each order is placed (D+1 .. D+window). The truth: `<landing>/_truth/measurement_uplift.csv`, one row
per business date, campaign, variant and channel (columns `TRUTH_COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from nightshift.generate.ids import day_start_epoch, numbered, phone_text, rng_for
from nightshift.generate.pools import SKUS
from nightshift.generate.render.common import i, iso, s
from nightshift.generate.responder.answers import send_times
from nightshift.generate.responder.exports import Contacts
from nightshift.generate.responder.faults import replace_day_rows
from nightshift.generate.responder.people import People
from nightshift.generate.table import Table
from nightshift.sources import benefits
from nightshift.sources import orders as orders_source
from nightshift.sources.orders import ORDER_STATUSES

TRUTH_FILE = Path("_truth") / "measurement_uplift.csv"
TRUTH_COLUMNS = (
    "business_date", "campaign_id", "variant", "channel", "contacts", "buyers", "incremental_rate",
    "converted_contacts", "orders", "gmv_fen", "discount_fen",
)  # fmt: skip
ORDER_PREFIX = "OR"  # the world's order numbers are O<yyyymmdd><digits>: never OR...
ITEM_PREFIX = "IR"
REDEMPTION_PREFIX = "RDR"
DAY_SECONDS = 86_400
# An order comes 10 minutes to 6 hours after the message (on later days: after the same clock time), is paid
# within half an hour, and never crosses midnight, so it lands and is paid on the day it is placed.
ORDER_DELAY_SECONDS = (600, 6 * 3600)
PAY_DELAY_SECONDS = (60, 1800)
LATEST_ORDER_SECONDS = DAY_SECONDS - 3600
PAID = ORDER_STATUSES.index("paid")
SKU_PRICES = np.array([sku[3] for sku in SKUS], dtype=np.int64)
LOWEST_PAY_FEN = 100  # a coupon never takes an order below 1 yuan


@dataclass
class Conversions:
    """The extra orders of one business date, one per converting contact (row = contact index)."""

    row: np.ndarray  # index into the day's contacts
    day_offset: np.ndarray  # days after the send day (0 = the send day)
    created: np.ndarray  # epoch seconds
    paid: np.ndarray
    sku: np.ndarray  # index into SKUS
    total: np.ndarray  # fen
    discount: np.ndarray  # fen: the contact's coupon, when granted
    rates: np.ndarray  # per contact: the incremental rate that applied
    can_buy: np.ndarray  # per contact

    def __len__(self) -> int:
        return len(self.row)


def can_buy(people: People, contacts: Contacts, send_day: date) -> np.ndarray:
    """Contacts who can place an order: a person the world knows, with an app account opened before the send."""
    campaign_rows = contacts.channel != ""
    if people.population is None or not len(contacts):
        return np.zeros(len(contacts), dtype=bool)
    person = np.maximum(people.person, 0)
    registered = people.population.app[person] & (people.population.app_register[person] < day_start_epoch(send_day))
    return campaign_rows & people.found & registered


def draw_conversions(
    contacts: Contacts,
    buyers: np.ndarray,
    granted: np.ndarray,
    rates: np.ndarray,
    window_days: int,
    send_day: date,
    rng: np.random.Generator,
) -> Conversions:
    """Which contacts buy because of the message, when and what. `granted`: the contact's coupon was granted."""
    n = len(contacts)
    converts = buyers & (rng.random(n) < rates)
    offsets = rng.integers(0, window_days, n)
    delays = rng.integers(*ORDER_DELAY_SECONDS, n)
    pay_delays = rng.integers(*PAY_DELAY_SECONDS, n)
    sku = rng.integers(0, len(SKUS), n)  # anything the shop sells
    row = np.flatnonzero(converts)
    sent = send_times(contacts, send_day)[row]
    day_start = day_start_epoch(send_day) + offsets[row] * DAY_SECONDS
    clock = np.minimum(sent - day_start_epoch(send_day) + delays[row], LATEST_ORDER_SECONDS)
    created = day_start + clock
    by_time = np.argsort(created, kind="stable")  # order numbers follow the order system's clock
    row, created = row[by_time], created[by_time]
    total = SKU_PRICES[sku[row]]
    discount = np.where(granted[row], np.minimum(contacts.cost_fen[row], total - LOWEST_PAY_FEN), 0)
    return Conversions(
        row=row,
        day_offset=offsets[row],
        created=created,
        paid=created + pay_delays[row],
        sku=sku[row],
        total=total,
        discount=np.maximum(discount, 0),
        rates=rates,
        can_buy=buyers,
    )


def order_tables(
    conversions: Conversions,
    contacts: Contacts,
    people: People,
    grant_ids: dict[str, str],
    business_date: date,
) -> list[tuple[Table, np.ndarray]]:
    """Orders, their items and the coupon redemptions, each with its landing day (days after D)."""
    row = conversions.row
    k = len(row)
    stamp = f"{business_date:%Y%m%d}"
    order_ids = numbered(f"{ORDER_PREFIX}{stamp}", np.arange(k) + 1_000_000)
    accounts = people.app_accounts(contacts.one_id)[row]
    person = people.person[row]
    population = people.population
    phones = population.phone[np.maximum(person, 0)] if population is not None else np.zeros(k, np.int64)
    landing = 1 + conversions.day_offset
    sku_field = np.array([SKUS[j][0] for j in conversions.sku.tolist()], dtype=object)
    coupon = conversions.discount > 0
    orders = Table(
        orders_source.ORDERS,
        person,
        {
            "order_id": s(order_ids),
            "user_id": s(np.asarray(accounts, dtype=object)),
            "order_type": s(np.full(k, "b2c", dtype=object)),
            "channel": s(np.full(k, "app", dtype=object)),
            "status": s(np.full(k, ORDER_STATUSES[PAID], dtype=object)),
            "total_amount": i(conversions.total),
            "discount_amount": i(conversions.discount),
            "pay_amount": i(conversions.total - conversions.discount),
            "coupon_id": s(np.asarray(contacts.benefit_id[row], dtype=object), valid=coupon),
            "receiver_phone": s(phone_text(phones)),
            "created_at": iso(conversions.created),
            "paid_at": iso(conversions.paid),
        },
    )
    items = Table(
        orders_source.ORDER_ITEMS,
        person,
        {
            "order_id": s(order_ids),
            "item_id": s(numbered(f"{ITEM_PREFIX}{stamp}", np.arange(k) + 1_000_000)),
            "sku_id": s(sku_field),
            "sku_name": s(np.array([SKUS[j][1] for j in conversions.sku.tolist()], dtype=object)),
            "category": s(np.array([SKUS[j][2] for j in conversions.sku.tolist()], dtype=object)),
            "quantity": i(np.ones(k, dtype=np.int64)),
            "unit_price": i(conversions.total),
            "item_amount": i(conversions.total),
        },
    )
    used = np.flatnonzero(coupon)
    redemptions = Table(
        benefits.REDEMPTIONS,
        person[used],
        {
            "redemption_id": s(numbered(f"{REDEMPTION_PREFIX}{stamp}", np.arange(len(used)) + 1_000_000)),
            "grant_id": s(np.array([grant_ids[c] for c in contacts.contact_id[row[used]]], dtype=object)),
            "user_id": s(np.asarray(accounts[used], dtype=object)),
            "order_id": s(order_ids.take(used)),
            "amount": i(conversions.discount[used]),
            "redeem_time": iso(conversions.paid[used]),
        },
    )
    return [(orders, landing), (items, landing), (redemptions, landing[used])]


def truth_rows(conversions: Conversions, contacts: Contacts, business_date: date) -> list[tuple]:
    """Per campaign, variant and channel: contacts, buyers, the rate, converted contacts, orders, GMV, discount."""
    converted = np.zeros(len(contacts), dtype=bool)
    converted[conversions.row] = True
    gmv = np.zeros(len(contacts), dtype=np.int64)
    gmv[conversions.row] = conversions.total - conversions.discount
    discount = np.zeros(len(contacts), dtype=np.int64)
    discount[conversions.row] = conversions.discount
    keys = sorted(
        {
            (c, v, ch)
            for c, v, ch in zip(contacts.campaign_id, contacts.variant, contacts.channel, strict=True)
            if ch != ""
        }
    )
    rows = []
    for campaign_id, variant, channel in keys:
        group = (contacts.campaign_id == campaign_id) & (contacts.variant == variant) & (contacts.channel == channel)
        rows.append(
            (
                business_date.isoformat(),
                campaign_id,
                variant,
                channel,
                int(group.sum()),
                int((group & conversions.can_buy).sum()),
                f"{float(conversions.rates[group][0]):g}",
                int((group & converted).sum()),
                int((group & converted).sum()),  # one extra order per converted contact
                int(gmv[group].sum()),
                int(discount[group].sum()),
            )
        )
    return rows


def write_truth(landing_root: Path, business_date: date, rows: list[tuple]) -> Path:
    """Replace the business date's rows of the uplift truth file (other dates' rows stay), ordered by date."""
    return replace_day_rows(Path(landing_root) / TRUTH_FILE, TRUTH_COLUMNS, business_date, rows)


def conversion_rng(seed: int, business_date: date) -> np.random.Generator:
    """Its own generator: turning conversions on or off leaves every grant and receipt draw as it was."""
    return rng_for(seed, "responder.conversions", business_date.isoformat())
