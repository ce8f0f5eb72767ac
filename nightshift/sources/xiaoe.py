"""`xiaoe`: Xiaoe-tech (小鹅通) knowledge shop: users and course orders, with the open API's field names.

Timestamps are ISO-8601 with +08:00; amounts are integer fen. `users.jsonl` is a snapshot (full on the first
delivered day, then new users); `orders.jsonl` holds that day's course orders.
"""

from nightshift.sources.model import Entity, Field, Source

USERS = Entity(
    source="xiaoe",
    name="users",
    file_glob="users*.jsonl",
    format="jsonl",
    description="One line per Xiaoe user.",
    fields=(
        Field("user_id", "string", required=True, id_type="xiaoe_user_id", description="u_..."),
        Field("nickname", "string"),
        Field("phone", "phone", id_type="phone"),
        Field("wx_union_id", "string", id_type="unionid", description="WeChat unionid when logged in via WeChat"),
        Field("user_created_at", "timestamp", required=True),
    ),
)

ORDERS = Entity(
    source="xiaoe",
    name="orders",
    file_glob="orders*.jsonl",
    format="jsonl",
    event_time_field="created_at",
    description="One line per course order.",
    fields=(
        Field("order_id", "string", required=True),
        Field("user_id", "string", required=True, id_type="xiaoe_user_id"),
        Field("resource_id", "string", required=True),
        Field("resource_type", "int", description="1 article, 2 audio, 3 video, 4 live, 6 column, 8 course"),
        Field("goods_name", "string"),
        Field("price", "amount_fen", description="list price, fen"),
        Field("actual_fee", "amount_fen", required=True, description="paid amount, fen"),
        Field("order_state", "int", description="0 unpaid, 1 paid, 2 closed, 3 refunded"),
        Field("created_at", "timestamp", required=True),
        Field("pay_time", "timestamp"),
    ),
)

SOURCE = Source(
    name="xiaoe", description="Xiaoe-tech knowledge shop: users and course orders.", entities=(USERS, ORDERS)
)
