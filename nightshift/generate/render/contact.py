"""Outbound-message vendors' delivery results (receipts) and contact limits (consent)."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from nightshift.generate.ids import PLACEHOLDER_PHONE, ZERO_DEVICE_ID, numbered, phone_text, rng_for, times_in_day
from nightshift.generate.pools import (
    BLACKLIST_REASONS,
    CALL_RESULTS,
    CHUANGLAN_STATUS,
    COMPLAINT_SOURCES,
    COMPLAINT_TYPES,
    SMS_REPLIES_OTHER,
)
from nightshift.generate.render.common import RenderContext, app_user_ids, b, epoch, i, iso, s, text
from nightshift.generate.render.wechat import TEMPLATE_REFUSED_ERRCODE, template_msgids, template_refused
from nightshift.generate.table import Table
from nightshift.sources import consent, receipts
from nightshift.sources.consent import UNSUBSCRIBE_REPLIES

SMS_CAMPAIGNS = ("C2311_RECALL", "C2311_COUPON", "C2311_NEWUSER")
TEMPLATE_IDS = ("Tk3u8zOQf2b9Gx1p0aYkE7cVQ", "Hq0bR4mW2sXy9NcZ7uLk3PfAd")
# JPush registration ids of the app's installs: this prefix and the account's number (the responder uses it too).
JPUSH_REGISTRATION_PREFIX = "170976fa8a"
ALIYUN_ERRORS = (("DELIVERED", "用户接收成功"), ("MK:0001", "手机号停机"), ("UNDELIV", "空号"), ("MN:0017", "关机"))


def _known_phone(ctx: RenderContext) -> np.ndarray:
    """People whose phone the marketing systems hold (bound in the app), plus the internal test accounts."""
    return (
        ctx.pop.app & (ctx.pop.app_phone_state == 1) & (ctx.pop.app_register < ctx.day.start)
    ) | ctx.pop.is_test_account


def _sms_sends(ctx: RenderContext) -> tuple[np.ndarray, np.ndarray]:
    rng = ctx.rng("receipts.sms")
    target = _known_phone(ctx)
    draw = rng.random(ctx.pop.n)
    aliyun = np.flatnonzero(target & ((draw < 0.02) | ctx.pop.is_test_account))
    chuanglan = np.flatnonzero(target & (draw >= 0.02) & (draw < 0.035))
    return aliyun, chuanglan


def render_receipts(ctx: RenderContext) -> list[Table]:
    pop, day, facts = ctx.pop, ctx.day, ctx.facts
    rng = ctx.rng("receipts")
    aliyun, chuanglan = _sms_sends(ctx)

    a = len(aliyun)
    a_send = times_in_day(rng, a, day.start) // 2 + day.start // 2  # campaigns go out in the morning
    a_error = rng.choice(len(ALIYUN_ERRORS), size=a, p=[0.9, 0.04, 0.03, 0.03])
    aliyun_table = Table(
        receipts.ALIYUN_SMS,
        aliyun,
        {
            "phone_number": s(phone_text(pop.phone[aliyun])),
            "send_time": iso(a_send),
            "report_time": iso(a_send + rng.integers(2, 120, a)),
            "success": b(a_error == 0),
            "err_code": s(text(tuple(e[0] for e in ALIYUN_ERRORS), a_error)),
            "err_msg": s(text(tuple(e[1] for e in ALIYUN_ERRORS), a_error)),
            "sms_size": i(rng.choice([1, 2], size=a, p=[0.8, 0.2])),
            "biz_id": s(
                pc.binary_join_element_wise(
                    numbered("", 800_000_000_000_000 + day.index * 10_000_000 + np.arange(a)), "^0", ""
                )
            ),
            "out_id": s(text(SMS_CAMPAIGNS, rng.integers(0, 3, a))),
        },
    ).sort_by("report_time")

    c = len(chuanglan)
    c_status = rng.choice(len(CHUANGLAN_STATUS), size=c, p=[0.88, 0.04, 0.02, 0.02, 0.02, 0.02])
    chuanglan_table = Table(
        receipts.CHUANGLAN_SMS,
        chuanglan,
        {
            "msgid": s(numbered(f"{day.date:%y%m%d}".encode(), np.arange(c) + 10_000_000_000)),
            "mobile": s(phone_text(pop.phone[chuanglan])),
            "status": s(text(tuple(x[0] for x in CHUANGLAN_STATUS), c_status)),
            "statusDesc": s(text(tuple(x[1] for x in CHUANGLAN_STATUS), c_status)),
            "reportTime": iso(times_in_day(rng, c, day.start)),
            "uid": s(text(SMS_CAMPAIGNS, rng.integers(0, 3, c))),
        },
    ).sort_by("reportTime")

    reachable = pop.app & (pop.app_register < day.start) & (pop.churn_time > day.start)
    pushed = np.flatnonzero(reachable & (rng.random(pop.n) < 0.05))
    p = len(pushed)
    push_status = rng.choice(3, size=p, p=[0.8, 0.08, 0.12])
    jpush_table = Table(
        receipts.JPUSH,
        pushed,
        {
            "msg_id": s(numbered("4785074", day.index * 1_000_000 + rng.integers(0, 20, p))),
            "registration_id": s(numbered(JPUSH_REGISTRATION_PREFIX, pop.app_user_num[pushed])),
            "alias": s(app_user_ids(pop, pushed), valid=rng.random(p) < 0.95),
            "platform": s(np.where(pop.os_idx[pushed] == 0, b"ios", b"android")),
            "status": s(text(("delivered", "clicked", "failed"), push_status)),
            "report_time": iso(times_in_day(rng, p, day.start)),
        },
    ).sort_by("report_time")

    t_person = facts.template_person
    t = len(t_person)
    refused = template_refused(ctx)
    template_table = Table(
        receipts.WECHAT_TEMPLATE,
        t_person,
        {
            "touser": s(pop.oa_openid[t_person]),
            "template_id": s(text(TEMPLATE_IDS, t_person % 2)),
            "msgid": i(template_msgids(day.index, t), valid=~refused),
            "errcode": i(np.where(refused, TEMPLATE_REFUSED_ERRCODE, 0)),
            "errmsg": s(np.where(refused, b"user refuse to accept the msg", b"ok")),
            "send_time": epoch(facts.template_time),
        },
    ).sort_by("send_time")

    called = np.flatnonzero(_known_phone(ctx) & (rng.random(pop.n) < 0.003))
    k = len(called)
    result = rng.choice(len(CALL_RESULTS), size=k, p=[0.35, 0.35, 0.15, 0.08, 0.04, 0.03])
    connected = result == 0
    call_table = Table(
        receipts.OUTBOUND_CALL,
        called,
        {
            "task_id": s(np.full(k, f"T{day.date:%Y%m%d}01".encode())),
            "call_id": s(numbered(b"CALL", day.index * 10_000_000 + np.arange(k) + 10_000_000)),
            "callee": s(phone_text(pop.phone[called])),
            "call_time": iso(day.start + 9 * 3600 + rng.integers(0, 11 * 3600, k)),
            "duration": i(np.where(connected, rng.integers(5, 300, k), 0)),
            "call_result": s(text(CALL_RESULTS, result)),
            "intent_level": s(text(("A", "B", "C", "D", "E"), rng.integers(0, 5, k)), valid=connected),
        },
    ).sort_by("call_time")
    return [aliyun_table, chuanglan_table, jpush_table, template_table, call_table]


def render_consent(ctx: RenderContext) -> list[Table]:
    pop, day = ctx.pop, ctx.day
    rng = ctx.rng("consent")
    aliyun, chuanglan = _sms_sends(ctx)
    recipients = np.concatenate([aliyun, chuanglan])
    repliers = recipients[rng.random(len(recipients)) < 0.02]
    r = len(repliers)
    unsubscribe = rng.random(r) < 0.6
    content = np.where(
        unsubscribe,
        text(UNSUBSCRIBE_REPLIES, rng.integers(0, len(UNSUBSCRIBE_REPLIES), r)),
        text(SMS_REPLIES_OTHER, rng.integers(0, len(SMS_REPLIES_OTHER), r)),
    )
    replies = Table(
        consent.SMS_REPLIES,
        repliers,
        {
            "phone_number": s(phone_text(pop.phone[repliers])),
            "content": s(content),
            "send_time": iso(np.minimum(day.start + 12 * 3600 + rng.integers(0, 11 * 3600, r), day.end - 1)),
            "sign_name": s(np.full(r, "优品回收".encode())),
            "dest_code": s(np.full(r, b"1069036288")),
            "sequence_id": i(day.index * 10_000_000 + np.arange(r) + 1),
        },
    ).sort_by("send_time")

    app_users = pop.app & (pop.app_register < day.start)
    opting = np.flatnonzero(app_users & (rng.random(pop.n) < 0.0005))
    o = len(opting)
    opt_outs = Table(
        consent.OPT_OUTS,
        opting,
        {
            "user_id": s(app_user_ids(pop, opting)),
            "channel": s(text(("sms", "push", "wechat", "call"), rng.choice(4, size=o, p=[0.45, 0.3, 0.1, 0.15]))),
            "opt_out": b(rng.random(o) < 0.85),
            "source": s(text(("settings_page", "customer_service", "unsubscribe_link"), rng.integers(0, 3, o))),
            "change_time": iso(times_in_day(rng, o, day.start)),
        },
    ).sort_by("change_time")

    complainers = np.concatenate(
        [recipients[rng.random(len(recipients)) < 0.002], np.flatnonzero(rng.random(pop.n) < 0.00005)]
    )
    m = len(complainers)
    complaints = Table(
        consent.COMPLAINTS,
        complainers,
        {
            "complaint_id": s(numbered(f"CP{day.date:%Y%m%d}".encode(), np.arange(m) + 10_000)),
            "phone": s(phone_text(pop.phone[complainers])),
            "channel": s(text(("sms", "call", "push", "wechat"), rng.choice(4, size=m, p=[0.6, 0.3, 0.05, 0.05]))),
            "complaint_source": s(text(COMPLAINT_SOURCES, rng.integers(0, len(COMPLAINT_SOURCES), m))),
            "complaint_type": s(text(COMPLAINT_TYPES, rng.integers(0, len(COMPLAINT_TYPES), m))),
            "created_at": iso(times_in_day(rng, m, day.start)),
        },
    ).sort_by("created_at")
    return [replies, opt_outs, complaints, _blacklist(ctx), _whitelist(ctx)]


def _blacklist(ctx: RenderContext) -> Table:
    """The same list every day (it only grows in the history); two junk entries identify nobody (person -1)."""
    pop, day = ctx.pop, ctx.day
    rng = rng_for(ctx.seed, "consent.blacklist")
    listed = np.flatnonzero(pop.is_blacklisted)
    n = len(listed)
    has_user = pop.app[listed] & (rng.random(n) < 0.8)
    has_device = pop.app[listed] & (rng.random(n) < 0.3)
    has_phone = (rng.random(n) < 0.7) | ~(has_user | has_device)
    person = np.concatenate([listed, [-1, -1]]).astype(np.int64)
    safe = np.maximum(person, 0)
    junk = person < 0
    phone = phone_text(np.where(junk, np.int64(PLACEHOLDER_PHONE), pop.phone[safe]))
    device = np.where(junk, ZERO_DEVICE_ID.encode(), pop.device_ids[safe, 0])
    return Table(
        consent.BLACKLIST,
        person,
        {
            "list_id": s(numbered(b"BL", np.arange(n + 2) + 100_000)),
            "phone": s(phone, valid=np.concatenate([has_phone, [True, False]])),
            "user_id": s(app_user_ids(pop, safe), valid=np.concatenate([has_user, [False, False]])),
            "device_id": s(device, valid=np.concatenate([has_device, [False, True]])),
            "risk_level": s(text(("high", "medium"), rng.integers(0, 2, n + 2))),
            "reason": s(text(BLACKLIST_REASONS, rng.integers(0, len(BLACKLIST_REASONS), n + 2))),
            "listed_at": iso(np.minimum(pop.window_start - rng.integers(86400, 400 * 86400, n + 2), day.start)),
        },
    )


def _whitelist(ctx: RenderContext) -> Table:
    pop = ctx.pop
    rng = rng_for(ctx.seed, "consent.whitelist")
    testers = np.flatnonzero(pop.is_test_account)
    n = len(testers)
    return Table(
        consent.WHITELIST,
        testers,
        {
            "phone": s(phone_text(pop.phone[testers])),
            "user_id": s(app_user_ids(pop, testers)),
            "owner": s(ctx.pools.staff_names[rng.integers(0, len(ctx.pools.staff_names), n)]),
            "note": s(np.full(n, "内部测试账号".encode())),
            "added_at": iso(pop.window_start - rng.integers(86400, 300 * 86400, n)),
        },
    )


def render(ctx: RenderContext) -> dict[str, list[Table]]:
    return {"receipts": render_receipts(ctx), "consent": render_consent(ctx)}
