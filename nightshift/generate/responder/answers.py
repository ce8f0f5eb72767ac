"""The records that answer an export day: benefit ledger grants and each vendor's delivery results.

The nightly run of business date D writes its exports after D has ended, so the channels act on them on D+1:
every contact is sent at its `send_at` clock time (Beijing) on D+1 (10:00 when the export has no send time), and
its grant and delivery result are dated D+1, a few seconds to minutes later. Each answering record carries the
contact_id in the field its vendor echoes (see `nightshift/sources/receipts.py`). Every table comes with the
landing day of each row, as days after D: 1, or more for a late receipt.

Channel -> receipts: sms -> Aliyun (`aliyun_sms`), or Chuanglan (`chuanglan_sms`) for `chuanglan_share` of the
contacts; app_push -> `jpush`; wechat_oa_template -> `wechat_template`; outbound_call -> `outbound_call`; wecom ->
none (WeCom mass messages report nothing back per contact). Replenishment rows are grants only.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from nightshift.generate.ids import day_start_epoch
from nightshift.generate.render.commerce import GRANT_VALIDITY_SECONDS
from nightshift.generate.render.common import b, epoch, i, iso, s
from nightshift.generate.responder.exports import NO_SEND_AT, Contacts
from nightshift.generate.responder.faults import AMOUNT_WRONG_FACTOR, Draws, ExtraGrants
from nightshift.generate.responder.people import CN_PHONE, People
from nightshift.generate.table import Table
from nightshift.sources import benefits, receipts

DAY_SECONDS = 86_400
BEIJING_OFFSET_SECONDS = 8 * 3600
DEFAULT_SEND_SECONDS = 10 * 3600  # 10:00 Beijing, for rows without a send time
RECEIPT_ENTITY = {"sms": "aliyun_sms", "app_push": "jpush", "wechat_oa_template": "wechat_template"}
RECEIPT_ENTITY |= {"outbound_call": "outbound_call", "wecom": None}
INTENT_LEVELS = ("A", "B", "C", "D", "E")

# Per failure reason (invalid_number, user_blocked, rate_limited: faults.FAILURE_REASONS): what each vendor reports.
ALIYUN_DELIVERED = ("DELIVERED", "用户接收成功")
ALIYUN_FAILURES = (
    ("isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误"),
    ("DB:0141", "用户在黑名单内"),
    ("isv.BUSINESS_LIMIT_CONTROL", "触发业务流控限制"),
)
CHUANGLAN_DELIVERED = ("DELIVRD", "成功")
CHUANGLAN_FAILURES = (("UNDELIV", "空号"), ("REJECTD", "用户拒收"), ("MK:0008", "发送频率超限"))
# JPush has no code of its own for a user who blocked the app's pushes: the target is simply gone (1011).
JPUSH_FAILURE_CODES = (1011, 1011, 2002)
WECHAT_OK = (0, "ok")
WECHAT_FAILURES = (
    (40003, "invalid openid"),
    (43101, "user refuse to accept the msg"),
    (45009, "reach max api daily quota limit"),
)
CALL_CONNECTED = "已接通"
CALL_FAILURES = ("空号", "拒接", "未接通")  # a rate-limited line never rings


def send_times(contacts: Contacts, send_day: date) -> np.ndarray:
    """When each contact goes out: its send_at clock time (Beijing) on the send day."""
    clock = (contacts.send_at + BEIJING_OFFSET_SECONDS) % DAY_SECONDS
    return day_start_epoch(send_day) + np.where(contacts.send_at == NO_SEND_AT, DEFAULT_SEND_SECONDS, clock)


def _within(times: np.ndarray, day: date) -> np.ndarray:
    return np.minimum(times, day_start_epoch(day) + DAY_SECONDS - 1)


def _text(values) -> np.ndarray:
    return np.asarray(values, dtype=object)


def grants(
    contacts: Contacts, draws: Draws, people: People, extra: ExtraGrants, send_day: date
) -> tuple[Table, np.ndarray]:
    """The ledger rows answering the day, in grant-time order, with grant ids numbered in that order."""
    granted = np.flatnonzero(contacts.has_benefit & ~draws.grant_dropped)
    again = np.flatnonzero(draws.grant_duplicated)
    sent = send_times(contacts, send_day)
    first_time = _within(sent + draws.grant_delay, send_day)
    amount = np.where(draws.amount_wrong, contacts.cost_fen * AMOUNT_WRONG_FACTOR, contacts.cost_fen)
    accounts = people.app_accounts(contacts.one_id)
    rows = np.concatenate([granted, again])
    retried = _within(first_time[again] + draws.duplicate_delay[again], send_day)
    time = np.concatenate([first_time[granted], retried, np.asarray(extra.grant_time, dtype=np.int64)])
    order = np.argsort(time, kind="stable")
    n = len(order)

    def column(planned: np.ndarray, unplanned: list) -> np.ndarray:
        return np.concatenate([_text(planned[rows]), _text(unplanned)])[order]

    table = Table(
        benefits.GRANTS,
        np.concatenate([people.person[rows], np.full(len(extra), -1)]).astype(np.int64)[order],
        {
            "grant_id": s(_text([f"G{send_day:%Y%m%d}R{k + 1:07d}" for k in range(n)])),
            "campaign_id": s(column(contacts.campaign_id, extra.campaign_id)),
            "benefit_id": s(column(contacts.benefit_id, extra.benefit_id)),
            "user_id": s(column(accounts, extra.user_id)),
            "amount": i(np.concatenate([amount[rows], np.asarray(extra.amount, dtype=np.int64)])[order]),
            "grant_time": iso(time[order]),
            "expire_time": iso(time[order] + GRANT_VALIDITY_SECONDS),
            "out_request_no": s(column(contacts.contact_id, extra.request_no)),
        },
    )
    return table, np.ones(n, dtype=np.int64)


def _phones(refs: np.ndarray) -> np.ndarray:
    """11-digit mobiles, as the vendors print them, from the exported E.164 addresses."""
    out = []
    for ref in refs:
        match = CN_PHONE.match(ref)
        out.append(match.group(1) if match else ref)
    return _text(out)


def _landing_offsets(draws: Draws, rows: np.ndarray) -> np.ndarray:
    return np.where(draws.receipt_late[rows], 1 + draws.delay_days[rows], 1)


def _pick(options: tuple, index: np.ndarray) -> np.ndarray:
    return _text([options[k] for k in index.tolist()])


def _outcome(draws: Draws, rows: np.ndarray, success, failures: tuple) -> list:
    """Per row: the success value, or the vendor's value for the row's failure reason (FAILURE_REASONS order)."""
    failed, reason = draws.delivery_failed[rows].tolist(), draws.failure_reason[rows].tolist()
    return [failures[r] if f else success for f, r in zip(failed, reason, strict=True)]


def receipts_for(
    contacts: Contacts, draws: Draws, people: People, send_day: date, was_sent: np.ndarray | None = None
) -> list[tuple[Table, np.ndarray]]:
    """Each vendor's results for the day's contacts that were sent (default: all; see `api_sends` for contacts
    delivered through an API), sorted by the vendor's event time, with landing days."""
    was_sent = np.ones(len(contacts), dtype=bool) if was_sent is None else was_sent
    sent = send_times(contacts, send_day)
    reported = _within(sent + draws.report_delay, send_day)
    stamp, short = f"{send_day:%Y%m%d}", f"{send_day:%y%m%d}"
    sms = (contacts.channel == "sms") & was_sent
    out = []

    rows = np.flatnonzero(sms & ~draws.via_chuanglan)
    failed = draws.delivery_failed[rows]
    code = _outcome(draws, rows, ALIYUN_DELIVERED, ALIYUN_FAILURES)
    aliyun = Table(
        receipts.ALIYUN_SMS,
        people.person[rows],
        {
            "phone_number": s(_phones(contacts.contact_ref[rows])),
            "send_time": iso(sent[rows]),
            "report_time": iso(reported[rows]),
            "success": b(~failed),
            "err_code": s(_text([c[0] for c in code])),
            "err_msg": s(_text([c[1] for c in code])),
            "sms_size": i(np.ones(len(rows), dtype=np.int64)),
            "biz_id": s(_text([f"9{stamp}{k:07d}^0" for k in rows.tolist()])),
            "out_id": s(contacts.contact_id[rows]),
        },
    )
    out.append((aliyun, _landing_offsets(draws, rows)))

    rows = np.flatnonzero(sms & draws.via_chuanglan)
    status = _outcome(draws, rows, CHUANGLAN_DELIVERED, CHUANGLAN_FAILURES)
    chuanglan = Table(
        receipts.CHUANGLAN_SMS,
        people.person[rows],
        {
            "msgid": s(_text([f"{short}9{k:010d}" for k in rows.tolist()])),
            "mobile": s(_phones(contacts.contact_ref[rows])),
            "status": s(_text([c[0] for c in status])),
            "statusDesc": s(_text([c[1] for c in status])),
            "reportTime": iso(reported[rows]),
            "uid": s(contacts.contact_id[rows], valid=draws.echoes_uid[rows]),  # some consoles drop it
        },
    )
    out.append((chuanglan, _landing_offsets(draws, rows)))

    rows = np.flatnonzero((contacts.channel == "app_push") & was_sent)
    failed = draws.delivery_failed[rows]
    message = list(zip(contacts.campaign_id[rows], contacts.template_id[rows], strict=True))
    batches = {key: k for k, key in enumerate(sorted(set(message)))}  # one message per campaign and template
    platform, known = people.push_platforms()
    jpush = Table(
        receipts.JPUSH,
        people.person[rows],
        {
            "msg_id": s(_text([f"5{stamp}{batches[key]:06d}" for key in message])),
            "registration_id": s(people.push_registrations()[rows]),
            "alias": s(contacts.contact_ref[rows]),
            "platform": s(platform[rows], valid=known[rows]),
            "status": s(np.where(failed, "failed", "delivered").astype(object)),
            "report_time": iso(reported[rows]),
            "cid": s(contacts.contact_id[rows]),
            "error_code": i(_pick(JPUSH_FAILURE_CODES, draws.failure_reason[rows]).astype(np.int64), valid=failed),
        },
    )
    out.append((jpush, _landing_offsets(draws, rows)))

    rows = np.flatnonzero((contacts.channel == "wechat_oa_template") & was_sent)
    failed = draws.delivery_failed[rows]
    answer = _outcome(draws, rows, WECHAT_OK, WECHAT_FAILURES)
    wechat = Table(
        receipts.WECHAT_TEMPLATE,
        people.person[rows],
        {
            "touser": s(contacts.contact_ref[rows]),
            "template_id": s(contacts.template_id[rows]),
            "msgid": i(np.array([int(f"{stamp}{k:07d}") for k in rows.tolist()], dtype=np.int64), valid=~failed),
            "errcode": i(np.array([a[0] for a in answer], dtype=np.int64)),
            "errmsg": s(_text([a[1] for a in answer])),
            "send_time": epoch(sent[rows]),
            "client_msg_id": s(contacts.contact_id[rows]),
        },
    )
    out.append((wechat, _landing_offsets(draws, rows)))

    rows = np.flatnonzero((contacts.channel == "outbound_call") & was_sent)
    failed = draws.delivery_failed[rows]
    tasks = {campaign: k for k, campaign in enumerate(sorted(set(contacts.campaign_id[rows].tolist())))}
    calls = Table(
        receipts.OUTBOUND_CALL,
        people.person[rows],
        {
            "task_id": s(_text([f"T{stamp}N{tasks[c]:02d}" for c in contacts.campaign_id[rows]])),
            "call_id": s(_text([f"CALLN{stamp}{k:07d}" for k in rows.tolist()])),
            "callee": s(_phones(contacts.contact_ref[rows])),
            "call_time": iso(sent[rows]),
            "duration": i(np.where(failed, 0, draws.call_seconds[rows])),
            "call_result": s(_text(_outcome(draws, rows, CALL_CONNECTED, CALL_FAILURES))),
            "intent_level": s(_pick(INTENT_LEVELS, draws.intent_level[rows]), valid=~failed),
            "list_row_id": s(contacts.contact_id[rows]),
        },
    )
    out.append((calls, _landing_offsets(draws, rows)))
    return [_by_event_time(table, offsets) for table, offsets in out]


def _by_event_time(table: Table, offsets: np.ndarray) -> tuple[Table, np.ndarray]:
    order = np.argsort(np.asarray(table.columns[table.entity.event_time_field].values), kind="stable")
    return table.take(order), offsets[order]
