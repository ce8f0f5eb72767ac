"""The WeChat family: Official Account (followers, events), WeCom external contacts, mini program."""

from __future__ import annotations

import numpy as np

from nightshift.generate.ids import numbered, phone_text, times_in_day
from nightshift.generate.pools import MP_PAGES, MP_SCENES, OA_MENU_KEYS, OA_SCENES, WECOM_STATES, WECOM_TAGS
from nightshift.generate.render.common import RenderContext, epoch, i, iso, s, text
from nightshift.generate.table import Column, Table
from nightshift.sources import miniprogram, wechat_oa, wecom

OA_ORIGINAL_ID = b"gh_3f2a9c8d71b4"
QR_SCENE = OA_SCENES.index("ADD_SCENE_QR_CODE")
TEMPLATE_REFUSED_ERRCODE = 43101


def template_msgids(day_index: int, count: int) -> np.ndarray:
    """msgid of the day's template sends; the send log (receipts) and the OA events share them."""
    return 2_300_000_000 + day_index * 10_000_000 + np.arange(count, dtype=np.int64)


def template_refused(ctx: RenderContext) -> np.ndarray:
    """Which of the day's template sends the API refused (errcode 43101): no msgid, no delivery event."""
    return ctx.rng("template.refused").random(len(ctx.facts.template_person)) < 0.02


def render_oa_followers(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("wechat_oa.followers")
    if day.is_first:
        changed = pop.oa & (pop.oa_subscribe < day.end)
    else:
        changed = pop.oa & (day.joined(pop.oa_subscribe) | day.joined(pop.oa_unsubscribe))
    person = np.flatnonzero(changed)
    n = len(person)
    following = pop.oa_unsubscribe[person] >= day.end
    scene = pop.oa_scene_idx[person]
    has_remark = following & (rng.random(n) < 0.05)
    return Table(
        wechat_oa.FOLLOWERS,
        person,
        {
            "subscribe": i(following.astype(np.int64)),
            "openid": s(pop.oa_openid[person]),
            "unionid": s(pop.unionid[person], valid=pop.oa_has_unionid[person]),
            "language": s(np.full(n, b"zh_CN"), valid=following),
            "subscribe_time": epoch(pop.oa_subscribe[person], valid=following),
            "remark": s(ctx.pools.names[pop.name_idx[person]], valid=has_remark),
            "groupid": i(np.zeros(n), valid=following),
            "tagid_list": Column(pop.oa_tags[person], "int_list", valid=following, counts=pop.oa_tag_count[person]),
            "subscribe_scene": s(text(OA_SCENES, scene), valid=following),
            "qr_scene": i(100 + person % 7, valid=following & (scene == QR_SCENE)),
            "qr_scene_str": s(text(("store", "package", "poster"), person % 3), valid=following & (scene == QR_SCENE)),
        },
    )


def render_oa_events(ctx: RenderContext) -> Table:
    pop, day, facts = ctx.pop, ctx.day, ctx.facts
    rng = ctx.rng("wechat_oa.events")
    subscribed = np.flatnonzero(pop.oa & (pop.oa_subscribe >= day.start) & (pop.oa_subscribe < day.end))
    unsubscribed = np.flatnonzero(pop.oa & (pop.oa_unsubscribe >= day.start) & (pop.oa_unsubscribe < day.end))
    following = np.flatnonzero(pop.oa & (pop.oa_subscribe < day.start) & (pop.oa_unsubscribe >= day.end))
    clickers = following[rng.random(len(following)) < 0.02 * np.minimum(pop.activity[following] * 5, 3)]
    refused = template_refused(ctx)
    delivered = np.flatnonzero(~refused)
    template_person = facts.template_person[delivered]

    person = np.concatenate([subscribed, unsubscribed, clickers, template_person])
    kind = np.concatenate(
        [
            np.zeros(len(subscribed)),
            np.ones(len(unsubscribed)),
            np.full(len(clickers), 2),
            np.full(len(template_person), 3),
        ]
    ).astype(np.int64)
    time = np.concatenate(
        [
            pop.oa_subscribe[subscribed],
            pop.oa_unsubscribe[unsubscribed],
            times_in_day(rng, len(clickers), day.start),
            np.minimum(facts.template_time[delivered] + rng.integers(1, 30, len(delivered)), day.end - 1),
        ]
    )
    msgid = np.concatenate(
        [np.zeros(len(person) - len(delivered), dtype=np.int64), template_msgids(day.index, len(refused))[delivered]]
    )
    ok = np.concatenate([np.ones(len(person) - len(delivered), dtype=bool), facts.template_ok[delivered]])
    n = len(person)
    menu = rng.integers(0, len(OA_MENU_KEYS), n)
    is_view = menu == len(OA_MENU_KEYS) - 1
    event_name = np.where(
        kind == 0,
        b"subscribe",
        np.where(
            kind == 1,
            b"unsubscribe",
            np.where(kind == 3, b"TEMPLATESENDJOBFINISH", np.where(is_view, b"VIEW", b"CLICK")),
        ),
    )
    qr_subscribe = (kind == 0) & (pop.oa_scene_idx[person] == QR_SCENE)
    event_key = np.where(
        qr_subscribe, np.char.add(b"qrscene_", (100 + person % 7).astype("S3")), text(OA_MENU_KEYS, menu)
    )
    status = np.where(ok, b"success", np.where(rng.random(n) < 0.8, b"failed:user block", b"failed: system failed"))
    table = Table(
        wechat_oa.EVENTS,
        person,
        {
            "ToUserName": s(np.full(n, OA_ORIGINAL_ID)),
            "FromUserName": s(pop.oa_openid[person]),
            "CreateTime": epoch(time),
            "MsgType": s(np.full(n, b"event")),
            "Event": s(event_name),
            "EventKey": s(event_key, valid=(kind == 2) | qr_subscribe),
            "MsgID": i(msgid, valid=kind == 3),
            "Status": s(status, valid=kind == 3),
        },
    )
    return table.sort_by("CreateTime")


def render_wecom(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("wecom.external_contacts")
    contacts = np.flatnonzero(pop.wecom & day.joined(pop.wecom_add))
    person = np.repeat(contacts, pop.wecom_staff_count[contacts])
    n = len(person)
    second = np.zeros(n, dtype=bool)
    second[1:] = person[1:] == person[:-1]
    staff = pop.wecom_staff[person, second.astype(np.int64)]
    wechat_user = pop.wecom_type[person] == 1
    has_remark = rng.random(n) < 0.3
    tag_count = rng.choice([0, 1, 2], size=n, p=[0.4, 0.4, 0.2])
    mobile_count = pop.wecom_has_mobile[person].astype(np.int64)
    state = rng.integers(0, len(WECOM_STATES), n)
    return Table(
        wecom.EXTERNAL_CONTACTS,
        person,
        {
            "external_userid": s(pop.wecom_external_userid[person]),
            "name": s(ctx.pools.nicknames[pop.nick_idx[person]]),
            "type": i(pop.wecom_type[person]),
            "gender": i(pop.gender[person]),
            "unionid": s(pop.unionid[person], valid=wechat_user & pop.wecom_has_unionid[person]),
            "userid": s(ctx.pools.staff_ids[staff]),
            "remark": s(ctx.pools.names[pop.name_idx[person]], valid=has_remark),
            "description": s(np.full(n, "老客户 回购意向高".encode()), valid=rng.random(n) < 0.05),
            "createtime": epoch(pop.wecom_add[person]),
            "tag_id": Column(text(WECOM_TAGS, rng.integers(0, len(WECOM_TAGS), (n, 2))), "str_list", counts=tag_count),
            "remark_mobiles": Column(pop.phone[person].astype("S11").reshape(n, 1), "str_list", counts=mobile_count),
            "add_way": i(text((1, 2, 3, 202), rng.choice(4, size=n, p=[0.7, 0.15, 0.1, 0.05]))),
            "state": s(text(WECOM_STATES, state), valid=state < len(WECOM_STATES) - 1),
        },
    )


def render_mp_users(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    new = pop.mp & day.joined(pop.mp_first_visit)
    if not day.is_first:
        new |= pop.mp & (pop.mp_first_visit < day.start) & day.joined(pop.mp_phone_auth)
    person = np.flatnonzero(new)
    authorised = pop.mp_phone_auth[person] < day.end
    return Table(
        miniprogram.USERS,
        person,
        {
            "openid": s(pop.mp_openid[person]),
            "unionid": s(pop.unionid[person], valid=pop.mp_has_unionid[person]),
            "purePhoneNumber": s(phone_text(pop.phone[person]), valid=authorised),
            "countryCode": s(np.full(len(person), b"86"), valid=authorised),
            "first_visit_time": iso(pop.mp_first_visit[person]),
            "phone_auth_time": iso(np.minimum(pop.mp_phone_auth[person], day.end), valid=authorised),
        },
    )


def render_mp_visits(ctx: RenderContext) -> Table:
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("miniprogram.visits")
    first = np.flatnonzero(pop.mp & (pop.mp_first_visit >= day.start) & (pop.mp_first_visit < day.end))
    members = np.flatnonzero(pop.mp & (pop.mp_first_visit < day.start) & (pop.churn_time > day.start))
    returning = members[rng.random(len(members)) < np.minimum(0.03 + pop.activity[members] * 0.05, 0.8)]
    returning = np.repeat(returning, rng.choice([1, 2, 3], size=len(returning), p=[0.6, 0.3, 0.1]))
    person = np.concatenate([first, returning])
    time = np.concatenate([pop.mp_first_visit[first], times_in_day(rng, len(returning), day.start)])
    n = len(person)
    table = Table(
        miniprogram.VISITS,
        person,
        {
            "visit_id": s(numbered(f"v{day.date:%Y%m%d}".encode(), np.arange(n) + 10_000_000)),
            "openid": s(pop.mp_openid[person]),
            "page": s(text(MP_PAGES, rng.integers(0, len(MP_PAGES), n))),
            "scene": i(text(MP_SCENES, rng.integers(0, len(MP_SCENES), n))),
            "visit_time": iso(time),
            "stay_time": i(np.minimum(rng.geometric(0.02, n), 3600)),
        },
    )
    return table.sort_by("visit_time")


def render(ctx: RenderContext) -> dict[str, list[Table]]:
    return {
        "wechat_oa": [render_oa_followers(ctx), render_oa_events(ctx)],
        "wecom": [render_wecom(ctx)],
        "miniprogram": [render_mp_users(ctx), render_mp_visits(ctx)],
    }
