"""`app`: the company's own mobile app backend (account service and client event log).

Timestamps are ISO-8601 strings with the +08:00 offset (the app backend runs on Beijing time).
`users.jsonl` is a snapshot: the first delivered day holds every registered account, later days hold the
accounts registered or changed that day (incremental). `events.jsonl` holds that day's client events.
"""

from nightshift.sources.model import Entity, Field, Source

APP_EVENT_NAMES = (
    "page_view",
    "search",
    "add_to_cart",
    "valuation",  # C2B: the user asked for an estimate of what we would pay for their item
    "order_submit",
    "pay",
    "order_cancel",
    "coupon_claim",
    "share",
    "invite",
    "survey_answer",  # NPS / satisfaction survey answered in the app
)

USERS = Entity(
    source="app",
    name="users",
    file_glob="users*.jsonl",
    format="jsonl",
    description="One line per registered app account (snapshot: full on the first day, then incremental).",
    fields=(
        Field("user_id", "string", required=True, id_type="app_user_id", description="account id, e.g. U61964346"),
        Field("phone", "phone", id_type="phone", description="bound mobile (11 digits); absent if never bound"),
        Field("device_ids", "string_array", id_type="device_id", description="devices the account logged in on"),
        Field("os", "string", description="ios | android | harmonyos"),
        Field("register_time", "timestamp", required=True, description="ISO-8601 +08:00"),
        Field("nickname", "string"),
        Field("gender", "int", description="0 unknown, 1 male, 2 female"),
        Field("city", "string"),
        Field("register_channel", "string", description="app store / campaign the account came from"),
        Field(
            "inviter_id",
            "string",
            id_type="app_user_id",
            is_subject_id=False,
            description="account that invited this one",
        ),
        Field("update_time", "timestamp", required=True, description="last change of the account, ISO +08:00"),
        Field(
            "wechat_unionid",
            "string",
            id_type="unionid",
            description="unionid of the WeChat account the user signed in with (WeChat login); absent otherwise",
        ),
    ),
)

EVENTS = Entity(
    source="app",
    name="events",
    file_glob="events*.jsonl",
    format="jsonl",
    event_time_field="event_time",
    description="One line per client event (see APP_EVENT_NAMES); fields not relevant to an event are absent.",
    fields=(
        Field("event_id", "string", required=True, description="unique per event"),
        Field("event", "string", required=True, description="event name, one of APP_EVENT_NAMES"),
        Field("event_time", "timestamp", required=True, description="ISO-8601 with milliseconds, +08:00"),
        Field("user_id", "string", id_type="app_user_id", description="absent for logged-out events"),
        Field("device_id", "string", required=True, id_type="device_id"),
        Field("os", "string"),
        Field("app_version", "string"),
        Field("page", "string", description="page_view: page name"),
        Field("keyword", "string", description="search: query text"),
        Field("sku_id", "string", description="add_to_cart / valuation: product"),
        Field("estimate_price", "amount_fen", description="valuation: quoted price in fen"),
        Field("order_id", "string", description="order_submit / pay / order_cancel"),
        Field("amount", "amount_fen", description="order_submit / pay: amount in fen"),
        Field("cancel_reason", "string", description="order_cancel: reason chosen by the user"),
        Field("coupon_id", "string", description="coupon_claim: benefit id claimed"),
        Field("share_channel", "string", description="share / invite: wechat_session | wechat_timeline | qq | sms"),
        Field(
            "inviter_id",
            "string",
            id_type="app_user_id",
            is_subject_id=False,
            description="invite: account that sent the invite",
        ),
        Field("nps_score", "int", description="survey_answer: 0-10 recommend score"),
        Field("satisfaction", "int", description="survey_answer: 1-5 satisfaction"),
    ),
)

SOURCE = Source(
    name="app",
    description="Company mobile app: account service (users) and client event log (events).",
    entities=(USERS, EVENTS),
)
