"""`app`: account snapshot and the client event log, in the app backend's shape."""

from __future__ import annotations

import numpy as np

from nightshift.generate.activity import BROWSE_EVENTS, SKU_PRICES
from nightshift.generate.ids import PLACEHOLDER_PHONE, numbered, phone_text
from nightshift.generate.pools import (
    CANCEL_REASONS_B2C,
    CANCEL_REASONS_C2B,
    PAGES,
    REGISTER_CHANNELS,
    SEARCH_KEYWORDS,
    SHARE_CHANNELS,
    SKUS,
)
from nightshift.generate.population import OS_NAMES
from nightshift.generate.render.common import (
    BENEFITS,
    RenderContext,
    app_user_ids,
    i,
    iso,
    order_ids,
    s,
    text,
)
from nightshift.generate.table import Column, Table
from nightshift.sources.app import APP_EVENT_NAMES, EVENTS, USERS

APP_VERSIONS = ("6.12.0", "6.13.1", "6.14.0", "6.14.2")
PROFILE_CHANGE_SHARE = 0.002
SKU_IDS = tuple(sku[0] for sku in SKUS)


def _ev(name: str) -> int:
    return APP_EVENT_NAMES.index(name)


def render_users(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("app.users")
    new = pop.app & day.joined(pop.app_register)
    changed = np.zeros(pop.n, dtype=bool)
    if not day.is_first:
        changed = pop.app & (pop.app_register < day.start) & (rng.random(pop.n) < PROFILE_CHANGE_SHARE)
    person = np.flatnonzero(new | changed)
    update = np.where(changed[person], day.start + rng.integers(0, 86400, len(person)), pop.app_register[person])
    state = pop.app_phone_state[person]
    phone = np.where(state == 2, np.int64(PLACEHOLDER_PHONE), pop.phone[person])
    inviter = pop.inviter[person]
    channel = np.where(inviter >= 0, REGISTER_CHANNELS.index("invite"), pop.register_channel_idx[person])
    return Table(
        USERS,
        person,
        {
            "user_id": s(app_user_ids(pop, person)),
            "phone": s(phone_text(phone), valid=state > 0),
            "device_ids": Column(pop.device_ids[person], "str_list", counts=pop.device_count[person]),
            "os": s(np.array(OS_NAMES)[pop.os_idx[person]]),
            "register_time": iso(pop.app_register[person]),
            "nickname": s(ctx.pools.nicknames[pop.nick_idx[person]]),
            "gender": i(pop.gender[person]),
            "city": s(ctx.pools.cities[pop.city_idx[person]]),
            "register_channel": s(text(REGISTER_CHANNELS, channel)),
            "inviter_id": s(app_user_ids(pop, np.maximum(inviter, 0)), valid=inviter >= 0, owner=inviter),
            "update_time": iso(update),
            "wechat_unionid": s(pop.unionid[person], valid=pop.app_wechat_login[person]),
        },
    )


def render_events(ctx: RenderContext) -> Table:
    pop, day, facts = ctx.pop, ctx.day, ctx.facts
    rng = ctx.rng("app.events")
    browse, orders = facts.browse, facts.orders
    browse_to_app = np.array([_ev(name) for name in BROWSE_EVENTS])

    # Order funnel events, taken from the day's orders so the app log agrees with the order export.
    k = len(orders.person)
    order_rows = np.arange(k)
    is_paid = orders.paid > 0
    is_cancel = orders.cancel_reason_idx >= 0
    pre_valuation = orders.is_c2b  # C2B orders start with a valuation of the item
    funnel = [
        (order_rows[pre_valuation], _ev("valuation"), (orders.created[pre_valuation] - 300) * 1000),
        (order_rows, _ev("order_submit"), orders.created * 1000),
        (order_rows[is_paid], _ev("pay"), orders.paid[is_paid] * 1000),
        (order_rows[is_cancel], _ev("order_cancel"), orders.cancelled_at[is_cancel] * 1000),
    ]
    # Invitees accept their invite when they register today.
    invitees = np.flatnonzero(pop.app & (pop.inviter >= 0) & (pop.app_register >= day.start))
    invitees = invitees[pop.app_register[invitees] < day.end]

    person = np.concatenate([browse.person, *[orders.person[rows] for rows, _, _ in funnel], invitees])
    event = np.concatenate(
        [
            browse_to_app[browse.event_idx],
            *[np.full(len(rows), ev) for rows, ev, _ in funnel],
            np.full(len(invitees), _ev("invite")),
        ]
    )
    time_ms = np.concatenate([browse.time_ms, *[t for _, _, t in funnel], pop.app_register[invitees] * 1000 + 500])
    time_ms = np.clip(time_ms, day.start * 1000, day.end * 1000 - 1)
    order_row = np.concatenate(
        [np.full(len(browse.person), -1), *[rows for rows, _, _ in funnel], np.full(len(invitees), -1)]
    )
    logged_in = np.concatenate([browse.logged_in, np.ones(len(person) - len(browse.person), dtype=bool)])
    slot = np.concatenate([browse.device_slot, np.zeros(len(person) - len(browse.person), dtype=np.int64)])

    n = len(person)
    sku = np.where(order_row >= 0, orders.sku[np.maximum(order_row, 0)] if k else 0, rng.integers(0, len(SKUS), n))
    has_sku = np.isin(event, [_ev("add_to_cart"), _ev("valuation")])
    is_order_event = np.isin(event, [_ev("order_submit"), _ev("pay"), _ev("order_cancel")])
    amount = (orders.total - orders.discount)[np.maximum(order_row, 0)] if k else np.zeros(n, dtype=np.int64)
    c2b = orders.is_c2b[np.maximum(order_row, 0)] if k else np.zeros(n, dtype=bool)
    reason_idx = orders.cancel_reason_idx[np.maximum(order_row, 0)] if k else np.zeros(n, dtype=np.int64)
    reasons = np.where(
        c2b, text(CANCEL_REASONS_C2B, np.maximum(reason_idx, 0)), text(CANCEL_REASONS_B2C, np.maximum(reason_idx, 0))
    )
    inviter = np.concatenate([np.full(n - len(invitees), -1), pop.inviter[invitees]])
    nps = np.clip(np.rint(pop.nps_base[person] + rng.normal(0, 1.5, n)), 0, 10).astype(np.int64)
    seq = np.arange(n)
    order = np.argsort(time_ms, kind="stable")

    table = Table(
        EVENTS,
        person,
        {
            "event_id": s(numbered(f"{day.date:%Y%m%d}-".encode(), seq + 10_000_000)),
            "event": s(text(APP_EVENT_NAMES, event)),
            "event_time": Column(time_ms, "iso_ms"),
            "user_id": s(app_user_ids(pop, person), valid=logged_in),
            "device_id": s(pop.device_ids[person, slot]),
            "os": s(np.array(OS_NAMES)[pop.os_idx[person]]),
            "app_version": s(text(APP_VERSIONS, rng.integers(0, len(APP_VERSIONS), n))),
            "page": s(text(PAGES, rng.integers(0, len(PAGES), n)), valid=event == _ev("page_view")),
            "keyword": s(text(SEARCH_KEYWORDS, rng.integers(0, len(SEARCH_KEYWORDS), n)), valid=event == _ev("search")),
            "sku_id": s(text(SKU_IDS, sku), valid=has_sku),
            "estimate_price": i(
                SKU_PRICES[sku] * rng.uniform(0.3, 0.7, n) // 100 * 100, valid=event == _ev("valuation")
            ),
            "order_id": s(order_ids(day, orders.seq[np.maximum(order_row, 0)] if k else seq), valid=is_order_event),
            "amount": i(amount, valid=np.isin(event, [_ev("order_submit"), _ev("pay")])),
            "cancel_reason": s(reasons, valid=event == _ev("order_cancel")),
            "coupon_id": s(text(BENEFITS, np.full(n, 4)), valid=event == _ev("coupon_claim")),
            "share_channel": s(
                text(SHARE_CHANNELS, rng.integers(0, len(SHARE_CHANNELS), n)),
                valid=np.isin(event, [_ev("share"), _ev("invite")]),
            ),
            "inviter_id": s(app_user_ids(pop, np.maximum(inviter, 0)), valid=inviter >= 0, owner=inviter),
            "nps_score": i(nps, valid=event == _ev("survey_answer")),
            "satisfaction": i(np.clip(nps // 2, 1, 5), valid=event == _ev("survey_answer")),
        },
    )
    return table.take(order)


def render(ctx: RenderContext) -> list[Table]:
    return [render_users(ctx), render_events(ctx)]
