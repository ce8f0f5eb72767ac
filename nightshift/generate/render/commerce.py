"""The order system export (orders, items, refunds) and the benefit ledger (grants, redemptions, expiries)."""

from __future__ import annotations

import numpy as np

from nightshift.generate.ids import PLACEHOLDER_PHONE, numbered, phone_text, times_in_day
from nightshift.generate.pools import CANCEL_REASONS_B2C, CANCEL_REASONS_C2B, REFUND_REASONS, SKUS
from nightshift.generate.render.common import (
    BENEFITS,
    CAMPAIGNS,
    RenderContext,
    app_user_ids,
    i,
    iso,
    order_ids,
    s,
    text,
)
from nightshift.generate.table import Table
from nightshift.sources import benefits
from nightshift.sources import orders as orders_source
from nightshift.sources.orders import ORDER_STATUSES

GRANT_VALIDITY_SECONDS = 14 * 86400
EXPIRY_SHARE = 0.01  # of engaged app users, per day: an older grant of theirs expires unused
RECEIVER_PLACEHOLDER_SHARE = 0.003
GIFT_SHARE = 0.05


def _grant_ids(day_stamp: str, seq: np.ndarray) -> np.ndarray:
    return numbered(f"G{day_stamp.replace('-', '')}", np.asarray(seq) + 10_000_000)


def render_orders(ctx: RenderContext) -> list[Table]:
    pop, day, o = ctx.pop, ctx.day, ctx.facts.orders
    rng = ctx.rng("orders")
    k = len(o.person)
    ids = order_ids(day, o.seq)
    reasons = np.where(
        o.is_c2b,
        text(CANCEL_REASONS_C2B, np.maximum(o.cancel_reason_idx, 0)),
        text(CANCEL_REASONS_B2C, np.maximum(o.cancel_reason_idx, 0)),
    )
    # Gifts ship to someone else: the receiver phone then identifies the receiver, not the buyer.
    receiver_person = np.where((~o.is_c2b) & (rng.random(k) < GIFT_SHARE), rng.integers(0, pop.n, k), o.person).astype(
        np.int64
    )
    placeholder = rng.random(k) < RECEIVER_PLACEHOLDER_SHARE
    receiver = np.where(placeholder, np.int64(PLACEHOLDER_PHONE), pop.phone[receiver_person])
    order_table = Table(
        orders_source.ORDERS,
        o.person,
        {
            "order_id": s(ids),
            "user_id": s(app_user_ids(pop, o.person)),
            "order_type": s(np.where(o.is_c2b, b"c2b", b"b2c")),
            "channel": s(np.where(o.channel_mp, b"miniprogram", b"app")),
            "status": s(text(ORDER_STATUSES, o.status)),
            "total_amount": i(o.total),
            "discount_amount": i(o.discount),
            "pay_amount": i(o.total - o.discount),
            "coupon_id": s(text(BENEFITS, o.person % 4), valid=o.has_coupon),
            "receiver_phone": s(phone_text(receiver), valid=~o.is_c2b | (rng.random(k) < 0.9), owner=receiver_person),
            "city": s(ctx.pools.cities[pop.city_idx[o.person]]),
            "created_at": iso(o.created),
            "paid_at": iso(o.paid, valid=o.paid > 0),
            "cancel_reason": s(reasons, valid=o.cancel_reason_idx >= 0),
        },
    )
    # One line per order (quantity on the line); accessories are sometimes added to device orders.
    extra = (~o.is_c2b) & (rng.random(k) < 0.25)
    line_order = np.concatenate([np.arange(k), np.flatnonzero(extra)])
    line_sku = np.concatenate([o.sku, 11 + rng.integers(0, 3, int(extra.sum()))])
    line_qty = np.concatenate([o.quantity, np.ones(int(extra.sum()), dtype=np.int64)])
    line_price = np.concatenate(
        [o.total // np.maximum(o.quantity, 1), np.array([SKUS[j][3] for j in line_sku[k:]], dtype=np.int64)]
    )
    sort = np.argsort(line_order, kind="stable")
    line_order, line_sku, line_qty, line_price = line_order[sort], line_sku[sort], line_qty[sort], line_price[sort]
    items = Table(
        orders_source.ORDER_ITEMS,
        o.person[line_order],
        {
            "order_id": s(ids.take(line_order)),
            "item_id": s(numbered(b"I", np.arange(len(line_order)) + 100_000_000 * (day.index + 1))),
            "sku_id": s(text(tuple(x[0] for x in SKUS), line_sku)),
            "sku_name": s(text(tuple(x[1] for x in SKUS), line_sku)),
            "category": s(text(tuple(x[2] for x in SKUS), line_sku)),
            "quantity": i(line_qty),
            "unit_price": i(line_price),
            "item_amount": i(line_price * line_qty),
        },
    )
    refunded = np.flatnonzero(o.refunded)
    refunds = Table(
        orders_source.REFUNDS,
        o.person[refunded],
        {
            "refund_id": s(numbered(f"R{day.date:%Y%m%d}".encode(), np.arange(len(refunded)) + 100_000)),
            "order_id": s(ids.take(refunded)),
            "user_id": s(app_user_ids(pop, o.person[refunded])),
            "refund_amount": i((o.total - o.discount)[refunded]),
            "refund_reason": s(text(REFUND_REASONS, rng.integers(0, len(REFUND_REASONS), len(refunded)))),
            "refund_status": s(text(("success", "processing"), (rng.random(len(refunded)) < 0.1).astype(int))),
            "refund_time": iso(np.minimum(o.refund_time[refunded], day.end - 1)),
        },
    )
    return [order_table.sort_by("created_at"), items, refunds.sort_by("refund_time")]


def render_benefits(ctx: RenderContext) -> list[Table]:
    pop, day, facts = ctx.pop, ctx.day, ctx.facts
    rng = ctx.rng("benefits")
    person = facts.grant_person
    g = len(person)
    grant_ids = _grant_ids(day.stamp, np.arange(g))
    grants = Table(
        benefits.GRANTS,
        person,
        {
            "grant_id": s(grant_ids),
            "campaign_id": s(text(CAMPAIGNS, facts.grant_campaign)),
            "benefit_id": s(text(BENEFITS, facts.grant_campaign)),
            "benefit_type": s(np.where(facts.grant_campaign == 2, b"cash", b"coupon")),
            "user_id": s(app_user_ids(pop, person)),
            "amount": i(facts.grant_amount),
            "grant_time": iso(facts.grant_time),
            "expire_time": iso(facts.grant_time + GRANT_VALIDITY_SECONDS),
        },
    ).sort_by("grant_time")

    # Coupon orders redeem a grant issued earlier (ids of grants from before the window are made up).
    o = facts.orders
    used = np.flatnonzero(o.has_coupon)
    older = _grant_ids((day.date.replace(day=1)).isoformat(), 5_000_000 + o.seq[used] % 5_000_000)
    redemptions = Table(
        benefits.REDEMPTIONS,
        o.person[used],
        {
            "redemption_id": s(numbered(f"RD{day.date:%Y%m%d}".encode(), np.arange(len(used)) + 1_000_000)),
            "grant_id": s(older),
            "user_id": s(app_user_ids(pop, o.person[used])),
            "order_id": s(order_ids(day, o.seq[used])),
            "amount": i(o.discount[used]),
            "redeem_time": iso(np.where(o.paid[used] > 0, o.paid[used], o.created[used])),
        },
    ).sort_by("redeem_time")

    engaged = pop.app & (pop.app_register < day.start - GRANT_VALIDITY_SECONDS)
    expired = np.flatnonzero(engaged & (rng.random(pop.n) < EXPIRY_SHARE))
    e = len(expired)
    expiries = Table(
        benefits.EXPIRIES,
        expired,
        {
            "grant_id": s(
                _grant_ids((day.date.replace(day=1)).isoformat(), 1_000_000 + day.index * 100_000 + np.arange(e))
            ),
            "user_id": s(app_user_ids(pop, expired)),
            "amount": i(rng.choice([500, 1000, 2000], size=e)),
            "expire_time": iso(times_in_day(rng, e, day.start)),
        },
    ).sort_by("expire_time")
    return [grants, redemptions, expiries]


def render(ctx: RenderContext) -> dict[str, list[Table]]:
    return {"orders": render_orders(ctx), "benefits": render_benefits(ctx)}
