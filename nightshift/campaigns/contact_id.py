"""The business key of a planned contact, `contact_id`, written once per engine side by side.

A contact is one campaign handing one person to one channel on one run date. Its key is an idempotency key,
stable across re-runs of the date, so a channel's receipts, the contact history and a re-sent file all name the
same contact the same way:

    contact_id = first 32 hex characters (lowercase) of sha256("<campaign_id>|<YYYY-MM-DD>|<one_id>|<channel>")

`one_id` is written in decimal and `channel` is '' for holdout rows (recorded, never contacted). The same key is
computed by three engines; each has exactly one definition, here, and a test checks they agree:

- Spark (`contact_id_column`): the audiences job keys every `audience.campaign_audience` row it writes.
- ClickHouse (`CONTACT_ID_CLICKHOUSE`): keys rows written before the column existed (see
  `nightshift.audiences.contacts`), from the table's own columns.
- Python (`contact_id`): the reference, for tests and for reading a single key by hand.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

CONTACT_ID_FORMULA = 'first 32 hex chars of sha256("<campaign_id>|<YYYY-MM-DD>|<one_id>|<channel>")'
CONTACT_ID_HEX_CHARS = 32  # 128 bits: collisions are out of reach at any audience size we will ever have
SEPARATOR = "|"

# Over a table with columns run_date (Date), campaign_id, one_id (UInt64) and channel. toString of a Date is
# YYYY-MM-DD and of a UInt64 its decimal digits; hex() is uppercase, hence lower().
CONTACT_ID_CLICKHOUSE = (
    f"lower(substring(hex(SHA256(concat(toString(campaign_id), '{SEPARATOR}', toString(run_date), '{SEPARATOR}', "
    f"toString(one_id), '{SEPARATOR}', toString(channel)))), 1, {CONTACT_ID_HEX_CHARS}))"
)


def contact_id(campaign_id: str, run_date: date, one_id: int, channel: str) -> str:
    """The key of one contact, computed in Python (the reference the two engines are tested against)."""
    text = SEPARATOR.join((campaign_id, run_date.isoformat(), str(one_id), channel))
    return hashlib.sha256(text.encode()).hexdigest()[:CONTACT_ID_HEX_CHARS]


def contact_id_column(campaign_id: Column, run_date: Column, one_id: Column, channel: Column) -> Column:
    """The key as a Spark column (built-in functions only; sha2 gives lowercase hex). A null part counts as ''."""
    from pyspark.sql import functions as F

    parts = [
        F.coalesce(part, F.lit(""))
        for part in (
            campaign_id.cast("string"),
            F.date_format(run_date, "yyyy-MM-dd"),
            one_id.cast("long").cast("string"),
            channel.cast("string"),
        )
    ]
    return F.substring(F.sha2(F.concat_ws(SEPARATOR, *parts), 256), 1, CONTACT_ID_HEX_CHARS)
