"""The contact tables on any installation, including one older than them: `audience.campaign_audience.contact_id`
and `audience.contact_history`.

Warehouse tables are not migrated by a separate tool. Both changes are additive, so the stages that read or write
these tables (audiences and export) call `ensure_contact_tables` first, and it brings an older warehouse up to date
in place, once:

- `audience.campaign_audience` without `contact_id`: the column is added after `one_id` (ALTER TABLE ADD COLUMN
  IF NOT EXISTS) and the key of every older row is computed in ClickHouse from the row's own columns, by the same
  formula Spark uses for new rows (`nightshift.campaigns.contact_id`), so a date keeps its keys when it is re-run.
- `audience.contact_history` missing: it is created and seeded with the treated audience rows of every date already
  planned (channel set, holdout left out), as source 'plan'. Until the table existed, the export stage exported
  exactly those rows, so this is what was handed over; without the seed, the first nights after the upgrade would
  forget earlier contacts and let people through their frequency caps and budgets' fatigue order.
- `audience.exclusions` without `variant` and `channel`: both are added, '' on the older rows.
"""

from __future__ import annotations

from nightshift.campaigns.contact_id import CONTACT_ID_CLICKHOUSE
from nightshift.campaigns.models import HOLDOUT
from nightshift.warehouse.partitions import has_column, table_exists
from nightshift.warehouse.schema import ensure_tables

AUDIENCE = "audience.campaign_audience"
HISTORY = "audience.contact_history"
EXCLUSIONS = "audience.exclusions"
PLAN_SOURCE = "plan"

# A contact_history row is a campaign_audience row's columns below (from the row aliased `a`), plus its source.
FROM_AUDIENCE = ("run_date", "campaign_id", "one_id", "channel", "contact_id", "variant", "send_at", "benefit_id",
                 "cost_fen")  # fmt: skip
HISTORY_COLUMNS = ", ".join((*FROM_AUDIENCE, "source"))
HISTORY_SELECT = ", ".join(f"a.{column}" for column in FROM_AUDIENCE)
# Audience rows a channel receives: treated (holdout is recorded, never contacted) and on a channel.
HANDED_OVER = "a.variant != {holdout:String} AND a.channel != ''"


def ensure_contact_ids(client) -> bool:
    """Give an `audience.campaign_audience` created before `contact_id` existed the column, with every row's key.
    Returns whether older rows were keyed (a missing table is left to its writer, which creates it declared)."""
    if not table_exists(client, AUDIENCE) or has_column(client, AUDIENCE, "contact_id"):
        return False
    client.command(f"ALTER TABLE {AUDIENCE} ADD COLUMN IF NOT EXISTS contact_id String AFTER one_id")
    client.command(
        f"ALTER TABLE {AUDIENCE} UPDATE contact_id = {CONTACT_ID_CLICKHOUSE} WHERE contact_id = '' "
        "SETTINGS mutations_sync = 1"
    )
    return True


def ensure_contact_history(client) -> int | None:
    """Create `audience.contact_history` if it is missing, seeded from the audiences planned (and so exported)
    before it existed. Returns the rows seeded, or None if the table was already there."""
    if table_exists(client, HISTORY):
        return None
    ensure_tables(client, HISTORY)
    if not table_exists(client, AUDIENCE):
        return 0
    ensure_contact_ids(client)
    client.command(
        f"INSERT INTO {HISTORY} ({HISTORY_COLUMNS}) SELECT {HISTORY_SELECT}, {{source:String}} "
        f"FROM {AUDIENCE} AS a WHERE {HANDED_OVER}",
        parameters={"holdout": HOLDOUT, "source": PLAN_SOURCE},
    )
    return int(client.query(f"SELECT count() FROM {HISTORY}").result_rows[0][0])


def ensure_contact_tables(client) -> None:
    """Both contact tables up to date with their declarations (see the module docstring)."""
    ensure_contact_ids(client)
    ensure_contact_history(client)
    # Make-up orders name the contact they make up; older histories hold plan rows only, which make up nothing.
    client.command(f"ALTER TABLE {HISTORY} ADD COLUMN IF NOT EXISTS replenishes String")
    # Exclusions gained the person's arm and channel (the funnel per variant and channel); older rows keep ''.
    if table_exists(client, EXCLUSIONS):
        for column in ("variant", "channel"):
            client.command(f"ALTER TABLE {EXCLUSIONS} ADD COLUMN IF NOT EXISTS {column} LowCardinality(String)")
