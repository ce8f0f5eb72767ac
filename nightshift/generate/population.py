"""The simulated people: who they are, which channels know them under which ids, and how they behave.

Everything here is per person (numpy arrays indexed by person), independent of any file shape: the source
writers in `nightshift.generate.render` read these arrays to decide what each system hands over on a day.
Later extensions (answering exports: receipts, benefit grants, clicks, conversions) read the same arrays.
Times are epoch seconds; `NEVER` marks something that does not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pyarrow as pa

from nightshift.generate.ids import (
    ALNUM,
    HEX_LOWER,
    URLSAFE,
    ZERO_DEVICE_ID,
    day_start_epoch,
    numbered,
    phones,
    rng_for,
    scrambled,
    tokens,
    uuid_tokens,
)
from nightshift.generate.pools import CITY_POOL_SIZE, NAME_POOL_SIZE, STAFF_COUNT

NEVER = np.iinfo(np.int64).max // 4
HISTORY_DAYS = 900  # how far back accounts and follows go before the simulated window
MAX_DEVICES = 3
OS_NAMES = (b"ios", b"android", b"harmonyos")
TEST_ACCOUNTS = 12  # internal test accounts on the whitelist

# Channel reach (share of people known to each system) and id-binding rates.
SHARE = {
    "app": 0.70,
    "oa": 0.55,
    "wecom": 0.20,
    "mp": 0.35,
    "douyin": 0.25,
    "xiaoe": 0.08,
}
APP_PHONE_BOUND = 0.98  # registration needs a verified mobile (real-name rules); the rest are legacy accounts
APP_PLACEHOLDER_PHONE = 0.004  # legacy accounts imported with a typed-in placeholder phone
ZERO_DEVICE_SHARE = 0.015
SHARED_PHONE_SHARE = 0.005  # family members sharing one phone number
NEW_PER_DAY = 0.004  # share of each channel's members who join on any given simulated day
CHURNED_SHARE = 0.30
# How the company can tell that accounts on different channels are one person. WeChat accounts carry the
# person's unionid when their WeChat is bound to the company's open platform; the mini program is where
# app customers who also follow on WeChat log in with their phone (getPhoneNumber), which bridges the
# WeChat ids to the phone the app knows. Douyin knows a fan's phone only from a lead form.
WECHAT_BOUND = 0.995
MP_BRIDGE = 0.99  # of people with a phone account (app, Xiaoe) and a WeChat account: log in to the mini program
MP_BRIDGE_AUTH_SECONDS = 600  # they authorise their phone within minutes of the first visit
# Share of app accounts that signed in with WeChat at least once, so the account record carries the unionid:
# accounts with a verified phone, and legacy accounts without one (WeChat login is how those get in).
APP_WECHAT_LOGIN = 0.5
APP_WECHAT_LOGIN_WITHOUT_PHONE = 0.9
DOUYIN_ONLY = 0.95  # of Douyin fans: known to the company on Douyin only
# The other fans are customers elsewhere too; nearly all of them leave a lead (private message or homepage
# form, so with their open_id) with their phone during the simulated window: that lead is their bridge.
DOUYIN_CUSTOMER_LEAD = 0.98
XIAOE_WECHAT_LOGIN = 0.75  # the rest log in to Xiaoe with their phone
WECOM_REMARK_MOBILE = 0.25  # staff note the mobile of a WeChat contact; of WeCom-user contacts almost always


@dataclass
class Population:
    n: int
    seed: int
    window_start: int  # epoch seconds, Beijing midnight of the first simulated day
    window_end: int  # epoch seconds, Beijing midnight after the last simulated day
    phone: np.ndarray  # int64 true mobile number (a few shared)
    gender: np.ndarray  # 0 unknown, 1 male, 2 female
    name_idx: np.ndarray
    nick_idx: np.ndarray
    city_idx: np.ndarray
    activity: np.ndarray  # expected app sessions per day (heavy-tailed)
    purchase_rate: np.ndarray  # expected orders per day
    c2b_share: np.ndarray  # probability an order is a C2B (we buy) order
    nps_base: np.ndarray  # the person's inclination on a 0-10 recommend scale
    churn_time: np.ndarray  # when the person stops engaging (NEVER if not)
    # app
    app: np.ndarray
    app_user_num: np.ndarray  # numeric part of the app user_id
    app_register: np.ndarray
    app_phone_state: np.ndarray  # 0 unbound, 1 own phone, 2 placeholder
    app_wechat_login: np.ndarray  # the account record carries the person's unionid
    device_ids: np.ndarray  # (n, MAX_DEVICES) bytes
    device_count: np.ndarray
    os_idx: np.ndarray
    register_channel_idx: np.ndarray
    inviter: np.ndarray  # person index of the inviter, -1 if none
    # WeChat family
    unionid: np.ndarray
    oa: np.ndarray
    oa_openid: np.ndarray
    oa_subscribe: np.ndarray
    oa_unsubscribe: np.ndarray  # NEVER if still following
    oa_has_unionid: np.ndarray
    oa_tags: np.ndarray  # (n, 3) tag ids
    oa_tag_count: np.ndarray
    oa_scene_idx: np.ndarray
    wecom: np.ndarray
    wecom_external_userid: np.ndarray
    wecom_add: np.ndarray
    wecom_staff: np.ndarray  # (n, 2) staff index
    wecom_staff_count: np.ndarray
    wecom_type: np.ndarray  # 1 WeChat, 2 WeCom user
    wecom_has_unionid: np.ndarray
    wecom_has_mobile: np.ndarray  # staff noted the contact's mobile (remark_mobiles)
    mp: np.ndarray
    mp_openid: np.ndarray
    mp_first_visit: np.ndarray
    mp_phone_auth: np.ndarray  # NEVER if never authorised
    mp_has_unionid: np.ndarray
    # Douyin
    douyin: np.ndarray
    douyin_open_id: np.ndarray
    douyin_union_id: np.ndarray
    douyin_follow: np.ndarray
    douyin_lead: np.ndarray  # when a fan who is a customer elsewhere leaves a lead with open_id and phone, or NEVER
    # Xiaoe
    xiaoe: np.ndarray
    xiaoe_user_id: np.ndarray
    xiaoe_created: np.ndarray
    xiaoe_has_phone: np.ndarray
    xiaoe_has_unionid: np.ndarray
    # contact limits
    is_test_account: np.ndarray
    is_blacklisted: np.ndarray

    @cached_property
    def app_user_id_text(self) -> pa.Array:
        """The app's user_id of every person ('U' + 8 digits), formatted once and taken by index."""
        return numbered("U", self.app_user_num)


def _join_times(rng: np.random.Generator, n: int, window_start: int, window_end: int) -> np.ndarray:
    """When each member joined a channel: mostly in the history (more recently more often), a few per day."""
    history = window_start - (HISTORY_DAYS * 86400 * rng.beta(1.0, 1.6, n)).astype(np.int64)
    days = (window_end - window_start) // 86400
    new = rng.random(n) < NEW_PER_DAY * days
    in_window = window_start + rng.integers(0, window_end - window_start, n)
    # A few join after the window: they exist but no file has shown them yet.
    return np.where(new, in_window, history)


def build_population(users: int, start_date: date, days: int, seed: int) -> Population:
    rng = rng_for(seed, "population")
    n = users
    window_start = day_start_epoch(start_date)
    window_end = day_start_epoch(start_date + timedelta(days=days))

    phone = phones(rng, n)
    shared = np.flatnonzero(rng.random(n) < SHARED_PHONE_SHARE)
    if len(shared) and n > 1:
        phone[shared] = phone[rng.integers(0, n, len(shared))]

    activity = np.minimum(rng.lognormal(mean=-2.2, sigma=1.3, size=n), 40.0)
    churn_time = np.where(
        rng.random(n) < CHURNED_SHARE,
        window_start + rng.integers(-HISTORY_DAYS * 86400, 90 * 86400, n),
        NEVER,
    )

    def member(share: float) -> np.ndarray:
        return rng.random(n) < share

    app = member(SHARE["app"])
    oa = member(SHARE["oa"])
    wecom = member(SHARE["wecom"])
    mp = member(SHARE["mp"])
    douyin = member(SHARE["douyin"])
    xiaoe = member(SHARE["xiaoe"])
    douyin_only = douyin & (rng.random(n) < DOUYIN_ONLY)
    for channel in (app, oa, wecom, mp, xiaoe):
        channel &= ~douyin_only
    nowhere = ~(app | oa | wecom | mp | douyin | xiaoe)
    app |= nowhere  # everyone is known somewhere

    app_register = _join_times(rng, n, window_start, window_end)
    bound = rng.random(n) < APP_PHONE_BOUND
    placeholder = rng.random(n) < APP_PLACEHOLDER_PHONE
    app_phone_state = np.where(bound, np.where(placeholder, 2, 1), 0).astype(np.int8)

    device_count = rng.choice([1, 2, 3], size=n, p=[0.75, 0.2, 0.05])
    os_idx = rng.choice(3, size=n, p=[0.4, 0.55, 0.05])
    device_ids = uuid_tokens(rng, n * MAX_DEVICES).reshape(n, MAX_DEVICES)
    zero = rng.random((n, MAX_DEVICES)) < ZERO_DEVICE_SHARE
    device_ids[zero] = ZERO_DEVICE_ID.encode()

    app_idx = np.flatnonzero(app)
    inviter = np.full(n, -1, dtype=np.int64)
    invited = app_idx[rng.random(len(app_idx)) < 0.08]
    if len(invited) and len(app_idx) > 1:
        candidates = app_idx[rng.integers(0, len(app_idx), len(invited))]
        ok = (candidates != invited) & (app_register[candidates] < app_register[invited])
        inviter[invited[ok]] = candidates[ok]

    oa_subscribe = _join_times(rng, n, window_start, window_end)
    oa_unsubscribe = np.where(churn_time > oa_subscribe, churn_time, NEVER)
    oa_unsubscribe = np.where(rng.random(n) < 0.7, oa_unsubscribe, NEVER)  # some churners keep following
    wecom_add = _join_times(rng, n, window_start, window_end)
    mp_first_visit = _join_times(rng, n, window_start, window_end)
    mp_auth_delay = rng.integers(0, 30 * 86400, n)
    mp_phone_auth = np.where(rng.random(n) < 0.5, mp_first_visit + mp_auth_delay, NEVER)
    wechat_bound = rng.random(n) < WECHAT_BOUND
    xiaoe_wechat_login = rng.random(n) < XIAOE_WECHAT_LOGIN
    has_phone_account = (app & (app_phone_state == 1)) | (xiaoe & ~xiaoe_wechat_login)
    has_wechat_account = oa | wecom | mp | (xiaoe & xiaoe_wechat_login)
    bridge = has_phone_account & has_wechat_account & (rng.random(n) < MP_BRIDGE)
    mp |= bridge
    mp_phone_auth = np.where(bridge, mp_first_visit + rng.integers(0, MP_BRIDGE_AUTH_SECONDS, n), mp_phone_auth)
    wecom_type = np.where(rng.random(n) < 0.95, 1, 2).astype(np.int8)

    test = np.zeros(n, dtype=bool)
    if len(app_idx):
        test[rng.choice(app_idx, size=min(TEST_ACCOUNTS, len(app_idx)), replace=False)] = True

    population = Population(
        n=n,
        seed=seed,
        window_start=window_start,
        window_end=window_end,
        phone=phone,
        gender=rng.choice(3, size=n, p=[0.1, 0.47, 0.43]).astype(np.int8),
        name_idx=rng.integers(0, NAME_POOL_SIZE, n),
        nick_idx=rng.integers(0, NAME_POOL_SIZE, n),
        city_idx=np.minimum(rng.zipf(1.6, n) - 1, CITY_POOL_SIZE - 1),
        activity=activity,
        purchase_rate=np.minimum(rng.lognormal(mean=-4.2, sigma=1.1, size=n), 0.5),
        c2b_share=rng.beta(2.0, 3.0, n),
        nps_base=np.clip(rng.normal(7.2, 2.0, n), 0, 10),
        churn_time=churn_time,
        app=app,
        app_user_num=scrambled(n, 10_000_000, 90_000_000, seed),
        app_register=app_register,
        app_phone_state=app_phone_state,
        app_wechat_login=np.zeros(n, dtype=bool),  # set below
        device_ids=device_ids,
        device_count=device_count,
        os_idx=os_idx,
        register_channel_idx=rng.integers(0, 9, n),
        inviter=inviter,
        unionid=tokens(rng, n, 27, URLSAFE, b"o"),
        oa=oa,
        oa_openid=tokens(rng, n, 27, URLSAFE, b"o"),
        oa_subscribe=oa_subscribe,
        oa_unsubscribe=oa_unsubscribe,
        oa_has_unionid=wechat_bound,
        oa_tags=rng.integers(100, 112, size=(n, 3)),
        oa_tag_count=rng.choice([0, 1, 2, 3], size=n, p=[0.5, 0.3, 0.15, 0.05]),
        oa_scene_idx=rng.choice(8, size=n, p=[0.45, 0.2, 0.02, 0.08, 0.1, 0.03, 0.07, 0.05]),
        wecom=wecom,
        wecom_external_userid=tokens(rng, n, 30, ALNUM, b"wm"),
        wecom_add=wecom_add,
        wecom_staff=rng.integers(0, STAFF_COUNT, size=(n, 2)),
        wecom_staff_count=rng.choice([1, 2], size=n, p=[0.85, 0.15]),
        wecom_type=wecom_type,
        wecom_has_unionid=wechat_bound,
        wecom_has_mobile=(wecom_type == 2) | (rng.random(n) < WECOM_REMARK_MOBILE),
        mp=mp,
        mp_openid=tokens(rng, n, 27, URLSAFE, b"o"),
        mp_first_visit=mp_first_visit,
        mp_phone_auth=mp_phone_auth,
        mp_has_unionid=wechat_bound,
        douyin=douyin,
        douyin_open_id=tokens(rng, n, 32, ALNUM, b"_000"),
        douyin_union_id=uuid_tokens(rng, n, upper=False),
        douyin_follow=_join_times(rng, n, window_start, window_end),
        douyin_lead=np.full(n, NEVER),  # set below, from the follow times
        xiaoe=xiaoe,
        xiaoe_user_id=tokens(rng, n, 16, HEX_LOWER, b"u_"),
        xiaoe_created=_join_times(rng, n, window_start, window_end),
        xiaoe_has_phone=~xiaoe_wechat_login | (rng.random(n) < 0.6),
        xiaoe_has_unionid=wechat_bound & xiaoe_wechat_login,
        is_test_account=test,
        is_blacklisted=rng.random(n) < 0.002,
    )
    # Separate random streams, so these draws leave every other generated value as it was.
    login_rng = rng_for(seed, "population.app_wechat_login")
    login_share = np.where(app_phone_state == 1, APP_WECHAT_LOGIN, APP_WECHAT_LOGIN_WITHOUT_PHONE)
    population.app_wechat_login = app & wechat_bound & (login_rng.random(n) < login_share)
    lead_rng = rng_for(seed, "population.douyin_leads")
    lead_time = np.maximum(lead_rng.integers(window_start, window_end, n), population.douyin_follow)
    population.douyin_lead = np.where(
        douyin & ~douyin_only & (lead_rng.random(n) < DOUYIN_CUSTOMER_LEAD) & (lead_time < window_end),
        lead_time,
        NEVER,
    )
    return population
