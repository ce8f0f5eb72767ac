"""`audience.campaign_audience.contact_id` on any installation, including one older than the column.

Warehouse tables are not migrated by a separate tool. The change is additive, so the audiences stage calls
`ensure_contact_ids` before it writes, and it brings an older warehouse up to date in place, once: the column is
added after `one_id` (ALTER TABLE ADD COLUMN IF NOT EXISTS) and the key of every older row is computed in ClickHouse
from the row's own columns, by the same formula Spark uses for new rows (`nightshift.campaigns.contact_id`), so a
date keeps its keys when it is re-run.
"""

from __future__ import annotations

from nightshift.campaigns.contact_id import CONTACT_ID_CLICKHOUSE
from nightshift.warehouse.partitions import table_exists

AUDIENCE = "audience.campaign_audience"


def _has_column(client, table: str, column: str) -> bool:
    database, name = table.split(".", 1)
    return bool(
        client.query(
            "SELECT count() FROM system.columns WHERE database = {db:String} AND table = {t:String} "
            "AND name = {c:String}",
            parameters={"db": database, "t": name, "c": column},
        ).result_rows[0][0]
    )


def ensure_contact_ids(client) -> bool:
    """Give an `audience.campaign_audience` created before `contact_id` existed the column, with every row's key.
    Returns whether older rows were keyed (a missing table is left to its writer, which creates it declared)."""
    if not table_exists(client, AUDIENCE) or _has_column(client, AUDIENCE, "contact_id"):
        return False
    client.command(f"ALTER TABLE {AUDIENCE} ADD COLUMN IF NOT EXISTS contact_id String AFTER one_id")
    client.command(
        f"ALTER TABLE {AUDIENCE} UPDATE contact_id = {CONTACT_ID_CLICKHOUSE} WHERE contact_id = '' "
        "SETTINGS mutations_sync = 1"
    )
    return True
