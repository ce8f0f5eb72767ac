"""The night's short links: one row per person a plan with `template.link` hands over, in `audience.short_links`.

The export stage writes them before any file that carries a link (its queries join this table to fill the link
parameter), and copies the date's partition to the lake (`<lake>/short_links/run_date=D/`), which is what the
redirect service reads: it never opens the warehouse, so it can run all day beside the nightly batch.

Rows come from the planned contacts (`audience.campaign_audience`, no holdout) and the resends of the date
(`audience.resends`), each with the channel and variant it went out with. Codes are computed in Python
(`nightshift.shortcodes`, sqids): the same campaign and person give the same code on every date.
"""

from __future__ import annotations

from datetime import date

from nightshift.campaigns.models import HOLDOUT, CampaignPlan
from nightshift.lake import dataset_path, table_to_lake
from nightshift.shortcodes import campaign_numbers, encode
from nightshift.warehouse.partitions import reset_partitions, table_exists
from nightshift.warehouse.schema import ensure_tables

SHORT_LINKS = "audience.short_links"
LAKE_DATASET = "short_links"
SHORT_LINK_COLUMNS = ["run_date", "code", "campaign_id", "one_id", "channel", "variant", "landing_url"]
# Rows per insert: a million links go in as a few blocks instead of one list that size in memory.
INSERT_BATCH_ROWS = 200_000

PLANNED_SQL = """
SELECT one_id, channel, variant FROM audience.campaign_audience
WHERE run_date = {d:Date} AND campaign_id = {campaign:String} AND variant != {holdout:String} AND channel != ''
"""
RESENT_SQL = """
SELECT toUInt64(one_id), channel, variant FROM audience.resends
WHERE run_date = {d:Date} AND campaign_id = {campaign:String}
"""
LAKE_COPY_SQL = (
    f"SELECT {', '.join(SHORT_LINK_COLUMNS)} FROM {SHORT_LINKS} WHERE run_date = {{d:Date}} "
    "ORDER BY campaign_id, one_id, channel"  # the same bytes on every rerun of the date
)


def link_plans(plans: dict[str, CampaignPlan]) -> list[CampaignPlan]:
    """The plans that ask for a link, checked to have distinct campaign numbers (codes could not tell them apart)."""
    linked = [plan for _, plan in sorted(plans.items()) if plan.template.link is not None]
    campaign_numbers(plan.id for plan in linked)
    return linked


def _contacts(client, run_date: date, campaign_id: str):
    parameters = {"d": run_date, "campaign": campaign_id, "holdout": HOLDOUT}
    yield from client.query(PLANNED_SQL, parameters=parameters).result_rows
    if table_exists(client, "audience.resends"):
        yield from client.query(RESENT_SQL, parameters=parameters).result_rows


def write_short_links(client, run_date: date, plans: dict[str, CampaignPlan], lake_root: str) -> int:
    """Replace the date's short links with those of tonight's contacts of `plans` that ask for a link; copy them to
    the lake. Returns the rows written."""
    ensure_tables(client, SHORT_LINKS)
    reset_partitions(client, run_date, [SHORT_LINKS])
    written = 0
    for plan in link_plans(plans):
        landing_url = plan.template.link.landing_url
        batch, seen = [], set()
        for one_id, channel, variant in _contacts(client, run_date, plan.id):
            if (one_id, channel) in seen:  # a resend on a channel the person was also planned on tonight
                continue
            seen.add((one_id, channel))
            code = encode(plan.id, int(one_id))
            batch.append((run_date, code, plan.id, int(one_id), channel, variant, landing_url))
            if len(batch) >= INSERT_BATCH_ROWS:
                client.insert(SHORT_LINKS, batch, column_names=SHORT_LINK_COLUMNS)
                written, batch = written + len(batch), []
        if batch:
            client.insert(SHORT_LINKS, batch, column_names=SHORT_LINK_COLUMNS)
            written += len(batch)
    table_to_lake(client, LAKE_COPY_SQL, dataset_path(lake_root, LAKE_DATASET, run_date), {"d": run_date})
    return written
