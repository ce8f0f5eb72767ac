"""`orders`: the e-commerce order system's daily CSV exports (UTF-8, header row, comma-separated).

Amounts are integer fen; timestamps ISO-8601 with +08:00. Each file holds that day's records: orders created
that day, their items, and refunds processed that day.
"""

from nightshift.sources.model import Entity, Field, Source

ORDER_STATUSES = ("created", "paid", "shipped", "completed", "cancelled", "refunded")

ORDERS = Entity(
    source="orders",
    name="orders",
    file_glob="orders*.csv",
    format="csv",
    encoding="utf-8",
    event_time_field="created_at",
    description="One row per order. order_type 'b2c' = we sell, 'c2b' = we buy the user's used item.",
    fields=(
        Field("order_id", "string", required=True),
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("order_type", "string", required=True, description="b2c | c2b"),
        Field("channel", "string", description="app | miniprogram"),
        Field("status", "string", required=True, description="one of ORDER_STATUSES"),
        Field("total_amount", "amount_fen", required=True),
        Field("discount_amount", "amount_fen"),
        Field("pay_amount", "amount_fen", required=True),
        Field("coupon_id", "string", description="benefit id used on the order"),
        Field(
            "receiver_phone",
            "phone",
            id_type="phone",
            is_subject_id=False,
            description="delivery phone; a gift receiver's for gifts",
        ),
        Field("city", "string"),
        Field("created_at", "timestamp", required=True),
        Field("paid_at", "timestamp"),
        Field("cancel_reason", "string"),
    ),
)

ORDER_ITEMS = Entity(
    source="orders",
    name="order_items",
    file_glob="order_items*.csv",
    format="csv",
    encoding="utf-8",
    description="One row per order line.",
    fields=(
        Field("order_id", "string", required=True),
        Field("item_id", "string", required=True),
        Field("sku_id", "string", required=True),
        Field("sku_name", "string"),
        Field("category", "string"),
        Field("quantity", "int", required=True),
        Field("unit_price", "amount_fen", required=True),
        Field("item_amount", "amount_fen", required=True),
    ),
)

REFUNDS = Entity(
    source="orders",
    name="refunds",
    file_glob="refunds*.csv",
    format="csv",
    encoding="utf-8",
    event_time_field="refund_time",
    description="One row per refund.",
    fields=(
        Field("refund_id", "string", required=True),
        Field("order_id", "string", required=True),
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("refund_amount", "amount_fen", required=True),
        Field("refund_reason", "string"),
        Field("refund_status", "string", description="success | processing | rejected"),
        Field("refund_time", "timestamp", required=True),
    ),
)

SOURCE = Source(
    name="orders",
    description="E-commerce order system exports: orders, order items, refunds (CSV).",
    entities=(ORDERS, ORDER_ITEMS, REFUNDS),
)
