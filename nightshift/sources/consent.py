"""`consent`: what limits contact: SMS replies, channel opt-outs, complaints, risk blacklist, test whitelist.

Timestamps ISO-8601 with +08:00. `sms_replies.jsonl`, `opt_outs.jsonl` and `complaints.csv` hold that day's
records. `blacklist.csv` and `whitelist.csv` are full snapshots delivered every day.
SMS replies are raw text: unsubscribe intent ("TD", "退订", "T", "N", "取消") must be recognised downstream;
other replies ("好的", "?") are not unsubscribes.
"""

from nightshift.sources.model import Entity, Field, Source

UNSUBSCRIBE_REPLIES = ("TD", "td", "退订", "T", "N", "取消", "退订TD", "回T退订")

SMS_REPLIES = Entity(
    source="consent",
    name="sms_replies",
    file_glob="sms_replies*.jsonl",
    format="jsonl",
    event_time_field="send_time",
    description="One line per inbound SMS (Aliyun SmsUp message).",
    fields=(
        Field("phone_number", "phone", required=True, id_type="phone"),
        Field("content", "string", required=True),
        Field("send_time", "timestamp", required=True, description="when the user sent the reply"),
        Field("sign_name", "string"),
        Field("dest_code", "string"),
        Field("sequence_id", "int", required=True),
    ),
)

OPT_OUTS = Entity(
    source="consent",
    name="opt_outs",
    file_glob="opt_outs*.jsonl",
    format="jsonl",
    event_time_field="change_time",
    description="One line per change in the app's notification preference centre.",
    fields=(
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("channel", "string", required=True, description="sms | push | wechat | call"),
        Field("opt_out", "bool", required=True, description="true = stop contacting on this channel"),
        Field("source", "string", description="settings_page | customer_service | unsubscribe_link"),
        Field("change_time", "timestamp", required=True),
    ),
)

COMPLAINTS = Entity(
    source="consent",
    name="complaints",
    file_glob="complaints*.csv",
    format="csv",
    encoding="utf-8",
    event_time_field="created_at",
    description="One row per complaint about marketing contact.",
    fields=(
        Field("complaint_id", "string", required=True),
        Field("phone", "phone", required=True, id_type="phone"),
        Field("channel", "string", description="sms | call | push | wechat"),
        Field("complaint_source", "string", description="12321 | 工信部 | 客服热线 | 黑猫投诉"),
        Field("complaint_type", "string"),
        Field("created_at", "timestamp", required=True),
    ),
)

BLACKLIST = Entity(
    source="consent",
    name="blacklist",
    file_glob="blacklist*.csv",
    format="csv",
    encoding="utf-8",
    description="Risk-control blacklist, full snapshot. At least one of phone, user_id, device_id is set.",
    fields=(
        Field("list_id", "string", required=True),
        Field("phone", "phone", id_type="phone"),
        Field("user_id", "string", id_type="app_user_id"),
        Field("device_id", "string", id_type="device_id"),
        Field("risk_level", "string", description="high | medium"),
        Field("reason", "string", description="fraud | scalper | chargeback | fake_account"),
        Field("listed_at", "timestamp", required=True),
    ),
)

WHITELIST = Entity(
    source="consent",
    name="whitelist",
    file_glob="whitelist*.csv",
    format="csv",
    encoding="utf-8",
    description="Internal test accounts, full snapshot: never count them, always allow test sends.",
    fields=(
        Field("phone", "phone", required=True, id_type="phone"),
        Field("user_id", "string", id_type="app_user_id"),
        Field("owner", "string", description="staff member owning the test account"),
        Field("note", "string"),
        Field("added_at", "timestamp", required=True),
    ),
)

SOURCE = Source(
    name="consent",
    description="Contact limits: SMS replies, opt-outs, complaints, risk blacklist, test whitelist.",
    entities=(SMS_REPLIES, OPT_OUTS, COMPLAINTS, BLACKLIST, WHITELIST),
)
