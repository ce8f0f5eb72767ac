"""`wecom`: WeCom (企业微信) external contacts, as `externalcontact/batch/get_by_user` returns them.

One line per (external contact, staff member) relation: the `external_contact` object's fields followed by
the `follow_info` object's fields, both with the API's names. Timestamps are epoch seconds (WeChat convention).
Snapshot: full on the first delivered day, then relations added or changed that day.
"""

from nightshift.sources.model import Entity, Field, Source

EXTERNAL_CONTACTS = Entity(
    source="wecom",
    name="external_contacts",
    file_glob="external_contacts*.jsonl",
    format="jsonl",
    description="One line per external_userid x staff userid relation.",
    fields=(
        Field("external_userid", "string", required=True, id_type="wecom_external_userid"),
        Field("name", "string", description="WeChat nickname of the contact"),
        Field("type", "int", description="1 WeChat user, 2 WeCom user"),
        Field("gender", "int", description="0 unknown, 1 male, 2 female"),
        Field("unionid", "string", id_type="unionid", description="only for type 1 when the corp has bound OA/MP"),
        Field("userid", "string", required=True, description="staff member (follow_user) who added the contact"),
        Field("remark", "string", description="staff's remark on the contact"),
        Field("description", "string"),
        Field("createtime", "timestamp", required=True, description="epoch seconds when the contact was added"),
        Field("tag_id", "string_array", description="corp tag ids (et...) the staff put on the contact"),
        Field(
            "remark_mobiles",
            "string_array",
            id_type="phone",
            description="the contact's phones as the staff noted them (free text; identity keeps valid mobiles)",
        ),
        Field("add_way", "int", description="1 scan QR, 2 search phone, 3 card share, 202 admin assigned, ..."),
        Field("state", "string", description="channel code of the 'contact me' QR that was used"),
    ),
)

SOURCE = Source(
    name="wecom",
    description="WeCom external contacts with their follow_user relations.",
    entities=(EXTERNAL_CONTACTS,),
)
