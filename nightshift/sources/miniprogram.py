"""`miniprogram`: the WeChat mini program's backend (login via jscode2session, phone via getPhoneNumber).

Timestamps are ISO-8601 with +08:00 (the mini program backend is ours, not a WeChat API answer).
`users.jsonl`: snapshot, full on the first delivered day then new or changed users. `visits.jsonl`: that
day's page visits.
"""

from nightshift.sources.model import Entity, Field, Source

USERS = Entity(
    source="miniprogram",
    name="users",
    file_glob="users*.jsonl",
    format="jsonl",
    description="One line per mini program openid.",
    fields=(
        Field("openid", "string", required=True, id_type="miniprogram_openid"),
        Field("unionid", "string", id_type="unionid", description="present when bound to the open platform"),
        Field("purePhoneNumber", "phone", id_type="phone", description="getPhoneNumber result, after consent"),
        Field("countryCode", "string", description="getPhoneNumber result, '86'"),
        Field("first_visit_time", "timestamp", required=True),
        Field("phone_auth_time", "timestamp", description="when the user authorised the phone"),
    ),
)

VISITS = Entity(
    source="miniprogram",
    name="visits",
    file_glob="visits*.jsonl",
    format="jsonl",
    event_time_field="visit_time",
    description="One line per page visit.",
    fields=(
        Field("visit_id", "string", required=True),
        Field("openid", "string", required=True, id_type="miniprogram_openid"),
        Field("page", "string", required=True, description="page path, e.g. pages/index/index"),
        Field("scene", "int", description="WeChat scene value: 1001 chat list, 1007 shared card, 1047 QR, ..."),
        Field("visit_time", "timestamp", required=True),
        Field("stay_time", "int", description="seconds on the page"),
    ),
)

SOURCE = Source(
    name="miniprogram",
    description="WeChat mini program: users (openid, unionid, authorised phone) and page visits.",
    entities=(USERS, VISITS),
)
