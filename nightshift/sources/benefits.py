"""`benefits`: the coupon / benefit system's ledger, exported daily as CSV (UTF-8, header row).

Amounts are integer fen (face value of the coupon or cash benefit); timestamps ISO-8601 with +08:00.
Each file holds that day's ledger entries. A grant requested by Nightshift carries the contact's `contact_id`
in `out_request_no` (the requester's idempotency key); grants of other systems (self-claimed coupons, other
campaign tools) leave it empty.
"""

from nightshift.sources.model import Entity, Field, Source

GRANTS = Entity(
    source="benefits",
    name="grants",
    file_glob="grants*.csv",
    format="csv",
    encoding="utf-8",
    event_time_field="grant_time",
    description="One row per benefit granted to a user.",
    fields=(
        Field("grant_id", "string", required=True),
        Field("campaign_id", "string", required=True),
        Field("benefit_id", "string", required=True),
        Field("benefit_type", "string", description="coupon | cash | points | vip_days"),
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("amount", "amount_fen", required=True),
        Field("grant_time", "timestamp", required=True),
        Field("expire_time", "timestamp", required=True),
        Field(
            "out_request_no",
            "string",
            description="the requester's idempotency key, echoed: Nightshift's contact_id when the grant answers a "
            "Nightshift campaign; absent for grants made by other systems or by hand",
        ),
    ),
)

REDEMPTIONS = Entity(
    source="benefits",
    name="redemptions",
    file_glob="redemptions*.csv",
    format="csv",
    encoding="utf-8",
    event_time_field="redeem_time",
    description="One row per grant used on an order.",
    fields=(
        Field("redemption_id", "string", required=True),
        Field("grant_id", "string", required=True),
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("order_id", "string", required=True),
        Field("amount", "amount_fen", required=True),
        Field("redeem_time", "timestamp", required=True),
    ),
)

EXPIRIES = Entity(
    source="benefits",
    name="expiries",
    file_glob="expiries*.csv",
    format="csv",
    encoding="utf-8",
    event_time_field="expire_time",
    description="One row per grant that expired unused.",
    fields=(
        Field("grant_id", "string", required=True),
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("amount", "amount_fen", required=True),
        Field("expire_time", "timestamp", required=True),
    ),
)

SOURCE = Source(
    name="benefits",
    description="Coupon / benefit system ledger: grants, redemptions, expiries (CSV).",
    entities=(GRANTS, REDEMPTIONS, EXPIRIES),
)
