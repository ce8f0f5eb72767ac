"""`receipts`: delivery results handed back by the outbound-message vendors, one file family per vendor.

| file                      | vendor / system                    | format                        | timestamps        |
|---------------------------|------------------------------------|-------------------------------|-------------------|
| aliyun_sms.jsonl          | Aliyun SMS delivery reports        | JSON lines                    | ISO +08:00        |
| chuanglan_sms.csv         | Chuanglan (创蓝) SMS status export  | CSV, GBK encoded, no BOM      | ISO +08:00        |
| jpush.jsonl               | JPush app push callbacks           | JSON lines                    | ISO +08:00        |
| wechat_template.jsonl     | WeChat template message send log   | JSON lines                    | epoch seconds     |
| outbound_call.csv         | outbound-call (robocall) vendor    | CSV, UTF-8 with BOM           | ISO +08:00        |

Each file holds that day's results. A result of a Nightshift send echoes the contact's `contact_id` in the
field the vendor hands back unchanged: Aliyun `out_id` (OutId), Chuanglan `uid`, JPush `cid`, WeChat
`client_msg_id`, the call list's `list_row_id`. Results of other senders leave those fields empty or carry their
own campaign codes there, never a contact_id. WeCom sends have no receipts.
"""

from nightshift.sources.model import Entity, Field, Source

ALIYUN_SMS = Entity(
    source="receipts",
    name="aliyun_sms",
    file_glob="aliyun_sms*.jsonl",
    format="jsonl",
    event_time_field="report_time",
    description="One line per SMS delivery report (Aliyun SmsReport message).",
    fields=(
        Field("phone_number", "phone", required=True, id_type="phone"),
        Field("send_time", "timestamp", required=True),
        Field("report_time", "timestamp", required=True),
        Field("success", "bool", required=True),
        Field("err_code", "string", description="DELIVERED on success, else the carrier's code"),
        Field("err_msg", "string"),
        Field("sms_size", "int", description="number of SMS segments billed"),
        Field("biz_id", "string", required=True, description="vendor's send id"),
        Field(
            "out_id",
            "string",
            description="OutId of the send request, echoed: Nightshift's contact_id for its sends; other "
            "senders put a campaign code here",
        ),
    ),
)

CHUANGLAN_SMS = Entity(
    source="receipts",
    name="chuanglan_sms",
    file_glob="chuanglan_sms*.csv",
    format="csv",
    encoding="gbk",
    event_time_field="reportTime",
    description="One row per SMS status report; statusDesc is Chinese text, hence GBK.",
    fields=(
        Field("msgid", "string", required=True),
        Field("mobile", "phone", required=True, id_type="phone"),
        Field("status", "string", required=True, description="DELIVRD | UNDELIV | EXPIRED | REJECTD | MK:xxxx"),
        Field("statusDesc", "string", description="Chinese description of the status"),
        Field("reportTime", "timestamp", required=True),
        Field(
            "uid",
            "string",
            description="the sender's own reference, echoed: Nightshift's contact_id for its sends; other "
            "senders put a campaign code here",
        ),
    ),
)

JPUSH = Entity(
    source="receipts",
    name="jpush",
    file_glob="jpush*.jsonl",
    format="jsonl",
    event_time_field="report_time",
    description="One line per push delivery/click callback; alias is set to the app user_id at login.",
    fields=(
        Field("msg_id", "string", required=True),
        Field("registration_id", "string", required=True),
        Field("alias", "string", id_type="app_user_id"),
        Field("platform", "string", description="ios | android"),
        Field("status", "string", required=True, description="delivered | clicked | failed"),
        Field("report_time", "timestamp", required=True),
        Field(
            "cid",
            "string",
            description="the push request's cid (JPush deduplicates retries by it), echoed: Nightshift's "
            "contact_id for its pushes",
        ),
        Field("error_code", "int", description="failed only: JPush error code, 1011 no such target, 2002 rate limited"),
    ),
)

WECHAT_TEMPLATE = Entity(
    source="receipts",
    name="wechat_template",
    file_glob="wechat_template*.jsonl",
    format="jsonl",
    event_time_field="send_time",
    description="One line per template message send (the message/template/send API answer).",
    fields=(
        Field("touser", "string", required=True, id_type="wechat_oa_openid"),
        Field("template_id", "string", required=True),
        Field("msgid", "int", description="absent when errcode != 0"),
        Field("errcode", "int", required=True, description="0 ok, 43004 not a follower, 43101 user refused"),
        Field("errmsg", "string"),
        Field("send_time", "timestamp", required=True, description="epoch seconds"),
        Field(
            "client_msg_id",
            "string",
            description="client_msg_id of the send request (WeChat's anti-replay id), echoed: Nightshift's "
            "contact_id for its sends",
        ),
    ),
)

OUTBOUND_CALL = Entity(
    source="receipts",
    name="outbound_call",
    file_glob="outbound_call*.csv",
    format="csv",
    encoding="utf-8-sig",
    event_time_field="call_time",
    description="One row per call attempt.",
    fields=(
        Field("task_id", "string", required=True),
        Field("call_id", "string", required=True),
        Field("callee", "phone", required=True, id_type="phone"),
        Field("call_time", "timestamp", required=True),
        Field("duration", "int", description="seconds connected"),
        Field("call_result", "string", required=True, description="已接通 | 未接通 | 拒接 | 关机 | 停机 | 空号"),
        Field("intent_level", "string", description="A (strong) .. E (none), only when connected"),
        Field(
            "list_row_id",
            "string",
            description="id of the row in the uploaded call list, echoed: Nightshift's contact_id for its calls",
        ),
    ),
)

SOURCE = Source(
    name="receipts",
    description="Delivery results from SMS (two vendors), push, WeChat template and outbound-call vendors.",
    entities=(ALIYUN_SMS, CHUANGLAN_SMS, JPUSH, WECHAT_TEMPLATE, OUTBOUND_CALL),
)
