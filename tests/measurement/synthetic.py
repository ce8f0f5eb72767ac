"""Synthetic campaigns written straight into the warehouse tables marts.campaign_measurement reads, for the tests.

Three campaigns, all planned on SEND_DATE and measured on RUN_DATE (the 7-day window complete):

- `injected`: ARM_PEOPLE treated and ARM_PEOPLE holdout people; everybody buys at the world's BASELINE rate, and
  the treated people also get the responder's extra orders (`draw_conversions`) at INJECTED_RATE.
- `aa`: the same with rate 0 (an A/A split).
- `edges`: six people placed by hand on the edges of the rules (see EDGES_EXPECTED).

People are one_id k with app account `U<k>` (identity.identity_map_daily as of RUN_DATE).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from nightshift.campaigns.models import HOLDOUT
from nightshift.generate.pools import SKUS
from nightshift.generate.responder.conversions import draw_conversions
from nightshift.generate.responder.exports import NO_SEND_AT, Contacts
from nightshift.sources.benefits import GRANTS, REDEMPTIONS
from nightshift.sources.orders import ORDERS
from nightshift.warehouse import ensure_databases
from nightshift.warehouse.schema import ensure_tables, raw_table_ddl

SEND_DATE = date(2026, 11, 10)
RUN_DATE = date(2026, 11, 20)
ARM_PEOPLE = 3000
BASELINE = 0.10
INJECTED_RATE = 0.08
WINDOW_DAYS = 7
SKU_PRICES = np.array([sku[3] for sku in SKUS], dtype=np.int64)
# What the injected rate should show: the extra order converts only people who would not have bought anyway,
# while its GMV adds up whatever the world did (every SKU equally likely, no coupon in these campaigns).
TRUE_CONVERSION_UPLIFT = INJECTED_RATE * (1 - BASELINE)
TRUE_GMV_UPLIFT_FEN = INJECTED_RATE * float(SKU_PRICES.mean())
EDGES_FIRST_ONE_ID = 900_000
# (variant, channel) -> the row of marts.campaign_measurement the `edges` campaign must produce
EDGES_EXPECTED = {
    ("v", "sms"): {
        "planned_people": 4, "exported_people": 3, "delivered_people": 1, "clicked_people": 0,
        "converted_people": 2, "conversion_orders": 2, "gmv_fen": 30_000, "gmv_fen_sum_of_squares": 500_000_000.0,
        "benefits_redeemed": 1, "benefit_cost_fen": 500,
    },
    (HOLDOUT, ""): {
        "planned_people": 2, "exported_people": 0, "delivered_people": 0, "clicked_people": 0,
        "converted_people": 1, "conversion_orders": 1, "gmv_fen": 30_000, "gmv_fen_sum_of_squares": 900_000_000.0,
        "benefits_redeemed": 0, "benefit_cost_fen": 0,
    },
}  # fmt: skip


def _noon_utc(day: date) -> datetime:
    """12:00 Beijing: the Beijing date of the moment is `day`."""
    return datetime.combine(day, time(4, 0), tzinfo=UTC)


class Rows:
    """Rows to insert, per table."""

    def __init__(self) -> None:
        self.tables: dict[str, tuple[list[str], list[list]]] = {}

    def add(self, table: str, **values) -> None:
        columns, rows = self.tables.setdefault(table, (list(values), []))
        rows.append([values[column] for column in columns])


def _order(rows: Rows, order_id: str, one_id: int, pay_fen: int, paid_on: date | None, status: str = "paid") -> None:
    created = _noon_utc(paid_on or SEND_DATE + timedelta(days=2)) - timedelta(minutes=30)
    rows.add(
        "raw.orders__orders",
        order_id=order_id, user_id=f"U{one_id}", order_type="b2c", status=status, total_amount=pay_fen,
        pay_amount=pay_fen, created_at=created, paid_at=_noon_utc(paid_on) if paid_on else None,
        _drop_date=created.date(), _line_number=len(rows.tables.get("raw.orders__orders", ([], []))[1]) + 1,
        _ingested_at=created,
    )  # fmt: skip


def _person(rows: Rows, campaign_id: str, one_id: int, variant: str, channel: str) -> str:
    contact_id = f"{campaign_id}-{one_id}"
    rows.add(
        "identity.identity_map_daily",
        run_date=RUN_DATE, one_id=one_id, id_type="app_user_id", id_value=f"U{one_id}",
        first_seen_date=SEND_DATE - timedelta(days=30), last_seen_date=RUN_DATE,
    )  # fmt: skip
    rows.add(
        "audience.campaign_audience",
        run_date=SEND_DATE, campaign_id=campaign_id, one_id=one_id, contact_id=contact_id, variant=variant,
        channel=channel, contact_ref="", send_at=_noon_utc(SEND_DATE), benefit_id="", cost_fen=0,
    )  # fmt: skip
    return contact_id


def _export(rows: Rows, campaign_id: str, one_id: int, contact_id: str, variant: str, channel: str) -> None:
    rows.add(
        "audience.contact_history",
        run_date=SEND_DATE, campaign_id=campaign_id, one_id=one_id, channel=channel, contact_id=contact_id,
        variant=variant, send_at=_noon_utc(SEND_DATE), benefit_id="", cost_fen=0, source="plan", replenishes="",
    )  # fmt: skip


def experiment(rows: Rows, campaign_id: str, rate: float, first_one_id: int, seed: int) -> dict:
    """ARM_PEOPLE treated and ARM_PEOPLE holdout people buying at BASELINE, the treated ones also converted by
    the responder at `rate`. Returns the responder's extra orders and GMV (its truth)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_one_id, first_one_id + 2 * ARM_PEOPLE)
    treated = np.arange(2 * ARM_PEOPLE) < ARM_PEOPLE
    for one_id, is_treated in zip(ids.tolist(), treated.tolist(), strict=True):
        variant, channel = ("copy_a", "app_push") if is_treated else (HOLDOUT, "")
        contact_id = _person(rows, campaign_id, one_id, variant, channel)
        if is_treated:
            _export(rows, campaign_id, one_id, contact_id, variant, channel)
    buys = rng.random(len(ids)) < BASELINE  # the world's own orders, treated or not
    days = rng.integers(1, WINDOW_DAYS + 1, len(ids))
    prices = SKU_PRICES[rng.integers(0, len(SKU_PRICES), len(ids))]
    for k in np.flatnonzero(buys).tolist():
        _order(rows, f"O-{campaign_id}-{k}", int(ids[k]), int(prices[k]), SEND_DATE + timedelta(days=int(days[k])))
    n = ARM_PEOPLE
    contacts = Contacts(
        source_file=np.full(n, f"campaign__{campaign_id}__app_push.csv", dtype=object),
        campaign_id=np.full(n, campaign_id, dtype=object),
        channel=np.full(n, "app_push", dtype=object),
        one_id=np.array([str(one_id) for one_id in ids[:n]], dtype=object),
        variant=np.full(n, "copy_a", dtype=object),
        contact_id=np.array([f"{campaign_id}-{one_id}" for one_id in ids[:n]], dtype=object),
        contact_ref=np.array([f"U{one_id}" for one_id in ids[:n]], dtype=object),
        template_id=np.full(n, "t", dtype=object),
        benefit_id=np.full(n, "", dtype=object),
        send_at=np.full(n, NO_SEND_AT, dtype=np.int64),
        cost_fen=np.zeros(n, dtype=np.int64),
    )
    send_day = SEND_DATE + timedelta(days=1)  # channels send the day after the export
    extra = draw_conversions(
        contacts, np.ones(n, bool), np.zeros(n, bool), np.full(n, rate), WINDOW_DAYS, send_day, rng
    )
    for k, row in enumerate(extra.row.tolist()):
        pay = int(extra.total[k] - extra.discount[k])
        paid_on = send_day + timedelta(days=int(extra.day_offset[k]))
        _order(rows, f"OR-{campaign_id}-{k}", int(ids[row]), pay, paid_on)
    return {"extra_orders": len(extra), "extra_gmv_fen": int((extra.total - extra.discount).sum())}


def edges(rows: Rows) -> None:
    """Six people on the edges; EDGES_EXPECTED says what the mart must count."""
    a, b, c, d, e, f = range(EDGES_FIRST_ONE_ID, EDGES_FIRST_ONE_ID + 6)
    S = SEND_DATE
    contact = {one_id: _person(rows, "edges", one_id, "v", "sms") for one_id in (a, b, c, d)}
    contact |= {one_id: _person(rows, "edges", one_id, HOLDOUT, "") for one_id in (e, f)}
    for one_id in (a, b, c):  # d was planned but withheld from the export
        _export(rows, "edges", one_id, contact[one_id], "v", "sms")
    # a: delivered (its newest reconciliation says so), bought on the send date itself: too early to count
    _order(rows, "E-a-0", a, 5_000, S)
    # b: the vendor failed, bought on S+1 (first day of the window) with the campaign's coupon
    _order(rows, "E-b-1", b, 10_000, S + timedelta(days=1))
    # c: bought on S+7 (last day), and on S+8 (too late); an unpaid order on S+2 never counts
    _order(rows, "E-c-7", c, 20_000, S + timedelta(days=7))
    _order(rows, "E-c-8", c, 40_000, S + timedelta(days=8))
    _order(rows, "E-c-2", c, 80_000, None, status="created")
    _order(rows, "E-e-3", e, 30_000, S + timedelta(days=3))  # holdout e buys anyway
    for one_id, statuses in ((a, ("", "delivered")), (b, ("", "failed"))):
        for night, status in enumerate(statuses):
            rows.add(
                "audience.reconciliation_items",
                run_date=S + timedelta(days=1 + night), business_date=S, campaign_id="edges", channel="sms",
                contact_id=contact[one_id], one_id=one_id, **{"class": "pending" if not status else "ok"},
                planned_fen=0, granted_fen=0, grants=0, vendor_status=status, vendor_code="",
                first_seen_run_date=S + timedelta(days=1), resolved_run_date=None,
            )  # fmt: skip
    granted = _noon_utc(S + timedelta(days=1))
    for grant_id, one_id, request_no in (("G-b", b, contact[b]), ("G-other", a, None)):
        rows.add(
            "raw.benefits__grants",
            grant_id=grant_id, campaign_id="edges", benefit_id="coupon", user_id=f"U{one_id}", amount=500,
            grant_time=granted, expire_time=granted + timedelta(days=14), out_request_no=request_no,
            _drop_date=granted.date(), _line_number=1, _ingested_at=granted,
        )  # fmt: skip
        rows.add(
            "raw.benefits__redemptions",
            redemption_id=f"R-{grant_id}", grant_id=grant_id, user_id=f"U{one_id}", order_id="E-b-1", amount=500,
            redeem_time=granted, _drop_date=granted.date(), _line_number=1, _ingested_at=granted,
        )  # fmt: skip


def seed_warehouse(client) -> dict:
    """Create the tables and write the three campaigns; returns the responder's truth per campaign."""
    ensure_databases(client)
    ensure_tables(client, "identity.identity_map_daily", "audience.campaign_audience", "audience.contact_history")
    ensure_tables(client, "audience.reconciliation_items")
    for entity in (ORDERS, GRANTS, REDEMPTIONS):
        client.command(raw_table_ddl(entity))
    rows = Rows()
    truth = {
        "injected": experiment(rows, "injected", INJECTED_RATE, 1, seed=11),
        "aa": experiment(rows, "aa", 0.0, 100_000, seed=12),
    }
    edges(rows)
    for table, (columns, values) in rows.tables.items():
        client.insert(table, values, column_names=columns)
    return truth
