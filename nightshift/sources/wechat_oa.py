"""`wechat_oa`: WeChat Official Account, as the `user/info` API and the event push messages hand it over.

Timestamps are epoch seconds (WeChat's convention). `followers.jsonl` is a snapshot of `user/info` answers:
full on the first delivered day, then the followers who subscribed, unsubscribed or changed that day.
`events.jsonl` holds that day's event pushes (the XML messages converted to JSON, element names kept).
"""

from nightshift.sources.model import Entity, Field, Source

FOLLOWERS = Entity(
    source="wechat_oa",
    name="followers",
    file_glob="followers*.jsonl",
    format="jsonl",
    description="One line per openid (user/info). Unsubscribed users carry only subscribe=0, openid, unionid.",
    fields=(
        Field("subscribe", "bool", required=True, description="1 follows the account, 0 does not"),
        Field("openid", "string", required=True, id_type="wechat_oa_openid"),
        Field("unionid", "string", id_type="unionid", description="present only when bound to the open platform"),
        Field("language", "string"),
        Field("subscribe_time", "timestamp", description="epoch seconds of the latest subscribe"),
        Field("remark", "string", description="operator's note on the follower"),
        Field("groupid", "int"),
        Field("tagid_list", "int_array"),
        Field("subscribe_scene", "string", description="ADD_SCENE_QR_CODE, ADD_SCENE_SEARCH, ..."),
        Field("qr_scene", "int"),
        Field("qr_scene_str", "string"),
    ),
)

EVENTS = Entity(
    source="wechat_oa",
    name="events",
    file_glob="events*.jsonl",
    format="jsonl",
    event_time_field="CreateTime",
    description="One line per pushed event: subscribe, unsubscribe, CLICK, VIEW, TEMPLATESENDJOBFINISH.",
    fields=(
        Field("ToUserName", "string", required=True, description="the Official Account's original id (gh_...)"),
        Field("FromUserName", "string", required=True, id_type="wechat_oa_openid", description="follower openid"),
        Field("CreateTime", "timestamp", required=True, description="epoch seconds"),
        Field("MsgType", "string", required=True, description="always 'event'"),
        Field("Event", "string", required=True),
        Field("EventKey", "string", description="menu key, URL, or qrscene_<scene> for subscribe by QR code"),
        Field("MsgID", "int", description="TEMPLATESENDJOBFINISH: template message id"),
        Field("Status", "string", description="TEMPLATESENDJOBFINISH: success | failed:user block | ..."),
    ),
)

SOURCE = Source(
    name="wechat_oa",
    description="WeChat Official Account: followers (user/info) and pushed events.",
    entities=(FOLLOWERS, EVENTS),
)
