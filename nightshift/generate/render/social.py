"""Douyin (fans, leads) and Xiaoe-tech (users, course orders)."""

from __future__ import annotations

import numpy as np

from nightshift.generate.ids import PLACEHOLDER_PHONE, numbered, phone_text, times_in_day
from nightshift.generate.pools import CLUE_SOURCES, COURSES
from nightshift.generate.render.common import RenderContext, i, iso, s, text
from nightshift.generate.table import Table
from nightshift.sources import douyin, xiaoe

LEAD_SHARE = 0.004  # of fans, per day
LEAD_NON_FAN_SHARE = 0.0005  # of everyone: ad-form leads from people who do not follow the account
LEAD_PLACEHOLDER_SHARE = 0.01


def render_douyin_fans(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    person = np.flatnonzero(pop.douyin & day.joined(pop.douyin_follow))
    return Table(
        douyin.FANS,
        person,
        {
            "open_id": s(pop.douyin_open_id[person]),
            "union_id": s(pop.douyin_union_id[person]),
            "nickname": s(ctx.pools.nicknames[pop.nick_idx[person]]),
            "gender": i(pop.gender[person]),
            "city": s(ctx.pools.cities[pop.city_idx[person]]),
            "province": s(ctx.pools.provinces[pop.city_idx[person]]),
            "follow_time": iso(pop.douyin_follow[person]),
        },
    )


def render_douyin_leads(ctx: RenderContext) -> Table:
    """Leads of the day: random fans and non-fans, and the customers' bridging leads (`Population.douyin_lead`)."""
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("douyin.leads")
    fans = pop.douyin & (pop.douyin_follow < day.start)
    from_fans = np.flatnonzero(fans & (rng.random(pop.n) < LEAD_SHARE))
    others = np.flatnonzero(~pop.douyin & (rng.random(pop.n) < LEAD_NON_FAN_SHARE))
    customers = np.flatnonzero((pop.douyin_lead >= day.start) & (pop.douyin_lead < day.end))
    person = np.concatenate([from_fans, others, customers])
    n = len(person)
    kind = np.repeat([0, 1, 2], [len(from_fans), len(others), len(customers)])
    source = np.select(  # non-fans only via ad forms; customers' leads carry their open_id
        [kind == 0, kind == 1], [rng.integers(0, 3, n), 0], rng.integers(1, 3, n)
    )
    phone = np.where(rng.random(n) < LEAD_PLACEHOLDER_SHARE, np.int64(PLACEHOLDER_PHONE), pop.phone[person])
    table = Table(
        douyin.LEADS,
        person,
        {
            "clue_id": s(numbered(b"7", day.index * 10_000_000 + np.arange(n) + 3_100_000_000_000)),
            "open_id": s(pop.douyin_open_id[person], valid=source > 0),
            "name": s(ctx.pools.names[pop.name_idx[person]], valid=rng.random(n) < 0.8),
            "telephone": s(phone_text(phone)),
            "clue_source": s(text(CLUE_SOURCES, source)),
            "advertiser_id": s(np.full(n, b"1754236987451392"), valid=source == 0),
            "ad_id": s(numbered("", 1_770_000_000_000_000 + rng.integers(0, 40, n)), valid=source == 0),
            "city": s(ctx.pools.cities[pop.city_idx[person]]),
            "create_time": iso(np.where(kind == 2, pop.douyin_lead[person], times_in_day(rng, n, day.start))),
        },
    )
    return table.sort_by("create_time")


def render_xiaoe_users(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    person = np.flatnonzero(pop.xiaoe & day.joined(pop.xiaoe_created))
    return Table(
        xiaoe.USERS,
        person,
        {
            "user_id": s(pop.xiaoe_user_id[person]),
            "nickname": s(ctx.pools.nicknames[pop.nick_idx[person]]),
            "phone": s(phone_text(pop.phone[person]), valid=pop.xiaoe_has_phone[person]),
            "wx_union_id": s(pop.unionid[person], valid=pop.xiaoe_has_unionid[person]),
            "user_created_at": iso(pop.xiaoe_created[person]),
        },
    )


def render_xiaoe_orders(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("xiaoe.orders")
    members = pop.xiaoe & (pop.xiaoe_created < day.end) & (pop.churn_time > day.start)
    person = np.flatnonzero(members & (rng.random(pop.n) < 0.01))
    n = len(person)
    course = rng.integers(0, len(COURSES), n)
    price = np.array([c[3] for c in COURSES], dtype=np.int64)[course]
    state = rng.choice([0, 1, 2, 3], size=n, p=[0.1, 0.8, 0.07, 0.03])
    created = np.maximum(times_in_day(rng, n, day.start), pop.xiaoe_created[person])
    paid = state % 2 == 1  # paid and refunded orders were paid
    table = Table(
        xiaoe.ORDERS,
        person,
        {
            "order_id": s(numbered(f"o_{day.date:%Y%m%d}_".encode(), np.arange(n) + 1_000_000)),
            "user_id": s(pop.xiaoe_user_id[person]),
            "resource_id": s(text(tuple(c[0] for c in COURSES), course)),
            "resource_type": i(text(tuple(c[1] for c in COURSES), course)),
            "goods_name": s(text(tuple(c[2] for c in COURSES), course)),
            "price": i(price),
            "actual_fee": i(np.where(paid, price, 0)),
            "order_state": i(state),
            "created_at": iso(created),
            "pay_time": iso(np.minimum(created + 60, day.end - 1), valid=paid),
        },
    )
    return table.sort_by("created_at")


def render(ctx: RenderContext) -> dict[str, list[Table]]:
    return {
        "douyin": [render_douyin_fans(ctx), render_douyin_leads(ctx)],
        "xiaoe": [render_xiaoe_users(ctx), render_xiaoe_orders(ctx)],
    }
