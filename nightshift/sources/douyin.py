"""`douyin`: the brand's Douyin account: fans (open platform fans list) and leads (ad/private-message forms).

Timestamps are ISO-8601 with +08:00. `fans.jsonl` is a snapshot (full on the first delivered day, then fans
who followed that day); `leads.jsonl` holds that day's leads. `union_id` is Douyin's own, unrelated to WeChat.
"""

from nightshift.sources.model import Entity, Field, Source

FANS = Entity(
    source="douyin",
    name="fans",
    file_glob="fans*.jsonl",
    format="jsonl",
    description="One line per fan open_id.",
    fields=(
        Field("open_id", "string", required=True, id_type="douyin_open_id"),
        Field("union_id", "string", id_type="douyin_union_id"),
        Field("nickname", "string"),
        Field("gender", "int", description="0 unknown, 1 male, 2 female"),
        Field("city", "string"),
        Field("province", "string"),
        Field("follow_time", "timestamp", required=True),
    ),
)

LEADS = Entity(
    source="douyin",
    name="leads",
    file_glob="leads*.jsonl",
    format="jsonl",
    event_time_field="create_time",
    description="One line per lead (clue); open_id only for leads left in private messages or on the homepage.",
    fields=(
        Field("clue_id", "string", required=True),
        Field("open_id", "string", id_type="douyin_open_id"),
        Field("name", "string"),
        Field("telephone", "phone", required=True, id_type="phone"),
        Field("clue_source", "string", description="ad_form | private_message | homepage"),
        Field("advertiser_id", "string"),
        Field("ad_id", "string"),
        Field("city", "string"),
        Field("create_time", "timestamp", required=True),
    ),
)

SOURCE = Source(name="douyin", description="Douyin (TikTok China): fans and leads with phones.", entities=(FANS, LEADS))
