"""Small pools of human-looking text (Faker zh_CN), sampled by index so no per-row Faker call is made."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker

from nightshift.generate.table import check_safe_text

NAME_POOL_SIZE = 2000
CITY_POOL_SIZE = 300
STAFF_COUNT = 40

# (sku_id, name, category, typical price in fen). B2C sells refurbished devices; C2B buys used ones.
SKUS = (
    ("SKU1001", "iPhone 13 128G 国行", "phone", 329900),
    ("SKU1002", "iPhone 14 Pro 256G", "phone", 569900),
    ("SKU1003", "华为 Mate 40 Pro", "phone", 299900),
    ("SKU1004", "小米 13 12+256G", "phone", 219900),
    ("SKU1005", "OPPO Reno9", "phone", 159900),
    ("SKU2001", "iPad Air 5 64G", "tablet", 339900),
    ("SKU2002", "华为 MatePad 11", "tablet", 179900),
    ("SKU3001", "MacBook Air M1", "laptop", 529900),
    ("SKU3002", "联想 小新 Pro14", "laptop", 399900),
    ("SKU4001", "Apple Watch S7", "watch", 159900),
    ("SKU4002", "AirPods Pro 2", "audio", 119900),
    ("SKU5001", "手机壳 透明款", "accessory", 2900),
    ("SKU5002", "快充数据线 1m", "accessory", 3900),
    ("SKU5003", "钢化膜 两片装", "accessory", 1900),
)
SEARCH_KEYWORDS = ("iPhone 13", "华为", "二手手机", "回收价格", "以旧换新", "小米", "iPad", "耳机", "估价", "官方验机")
PAGES = ("home", "category", "product_detail", "cart", "valuation", "order_list", "coupon_center", "my", "search")
CANCEL_REASONS_C2B = ("估价太低", "不想卖了", "已在其他平台卖出", "检测价与估价不符", "上门时间不合适")
CANCEL_REASONS_B2C = ("不想买了", "价格不合适", "重复下单", "地址填错", "支付遇到问题", "发货太慢")
REFUND_REASONS = ("商品与描述不符", "七天无理由", "质量问题", "少件漏发", "不想要了")
SHARE_CHANNELS = ("wechat_session", "wechat_timeline", "qq", "sms")
REGISTER_CHANNELS = ("appstore", "huawei", "xiaomi", "oppo", "vivo", "tencent", "douyin_ad", "invite", "organic")
OA_SCENES = ("ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_ACCOUNT_MIGRATION", "ADD_SCENE_PROFILE_CARD")
OA_SCENES += ("ADD_SCENE_PROFILE_LINK", "ADD_SCENE_PAID", "ADD_SCENE_WECHAT_ADVERTISEMENT", "ADD_SCENE_OTHERS")
OA_MENU_KEYS = ("MENU_VALUATION", "MENU_ORDERS", "MENU_COUPONS", "MENU_SERVICE", "https://m.example.cn/activity")
MP_PAGES = ("pages/index/index", "pages/valuation/index", "pages/goods/detail", "pages/order/list", "pages/my/index")
MP_SCENES = (1001, 1005, 1007, 1008, 1011, 1012, 1035, 1037, 1047, 1089)
COURSES = (
    ("p_6331a2c1e4b0", 6, "二手手机验机课", 9900),
    ("p_6331a2c1e4b1", 8, "闲置数码变现指南", 19900),
    ("p_6331a2c1e4b2", 3, "iPhone 选购避坑", 0),
    ("p_6331a2c1e4b3", 4, "数码达人直播课", 4900),
)
CLUE_SOURCES = ("ad_form", "private_message", "homepage")
WECOM_TAGS = ("etA1hVDwAAa0", "etA1hVDwAAb1", "etA1hVDwAAc2", "etA1hVDwAAd3", "etA1hVDwAAe4", "etA1hVDwAAf5")
WECOM_STATES = ("qr_store_sh", "qr_store_bj", "qr_live", "qr_package", "")
SMS_REPLIES_OTHER = ("好的", "收到", "?", "谢谢", "多少钱", "怎么回收")
CHUANGLAN_STATUS = (("DELIVRD", "成功"), ("UNDELIV", "空号"), ("UNDELIV", "停机"), ("EXPIRED", "超时未送达"))
CHUANGLAN_STATUS += (("REJECTD", "运营商拦截"), ("MK:0001", "关机"))
CALL_RESULTS = ("已接通", "未接通", "拒接", "关机", "停机", "空号")
COMPLAINT_SOURCES = ("12321", "工信部", "客服热线", "黑猫投诉")
COMPLAINT_TYPES = ("频繁骚扰", "未经同意发送营销短信", "退订后仍收到", "外呼扰民")
BLACKLIST_REASONS = ("fraud", "scalper", "chargeback", "fake_account")


@dataclass(frozen=True)
class Pools:
    """Faker-made text pools; indices into them are what the population stores."""

    names: np.ndarray  # UTF-8 bytes, Chinese full names
    nicknames: np.ndarray
    cities: np.ndarray
    provinces: np.ndarray  # province of each city
    staff_ids: np.ndarray  # WeCom staff userids
    staff_names: np.ndarray


def _bytes(values: list[str]) -> np.ndarray:
    return np.array([v.encode() for v in values])


def make_pools(seed: int) -> Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    names = [fake.name() for _ in range(NAME_POOL_SIZE)]
    suffixes = ("", "", "", "🌸", "_", "同学", "爱数码", "2023")
    nicknames = [fake.first_name() + fake.random_element(suffixes) for _ in range(NAME_POOL_SIZE)]
    cities, provinces = [], []
    for _ in range(CITY_POOL_SIZE):
        cities.append(fake.city_name())
        provinces.append(fake.province())
    staff = [fake.romanized_name().replace(" ", "") for _ in range(STAFF_COUNT)]
    staff_ids = [f"{name}{i:02d}" for i, name in enumerate(staff)]
    staff_names = [fake.name() for _ in range(STAFF_COUNT)]
    for label, values in (("names", names), ("nicknames", nicknames), ("cities", cities), ("staff", staff_ids)):
        check_safe_text(values, f"Faker pool {label}")
    return Pools(
        names=_bytes(names),
        nicknames=_bytes(nicknames),
        cities=_bytes(cities),
        provinces=_bytes(provinces),
        staff_ids=_bytes(staff_ids),
        staff_names=_bytes(staff_names),
    )
