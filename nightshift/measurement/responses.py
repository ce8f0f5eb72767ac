"""What the planned people did after the send, per arm: the funnel (`marts.campaign_funnel`: planned -> came back
-> paid order in the conversion window) and the retention curve (`marts.campaign_retention`: share active on each
day 1..7 after the send), treated variants beside the holdout. Read by `nightshift campaign measure` and the
report. Days still to come are None, never 0: a curve does not drop because the night has not happened yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nightshift.campaigns.models import HOLDOUT
from nightshift.warehouse.partitions import table_exists

FUNNEL_MART = "marts.campaign_funnel"
RETENTION_MART = "marts.campaign_retention"
RETENTION_DAYS = 7  # dbt_project/macros/campaign_retention_days.sql: the days the curve covers
# Both marts share the grain (campaign, send date, variant); the funnel's planned people are the curve's too.
QUERY = f"""
SELECT f.campaign_id, f.send_date, f.variant, f.planned, f.came_back, f.paid_order, r.days
FROM (
    SELECT campaign_id, send_date, variant,
           sumIf(people, step_number = 1) AS planned,
           sumIf(people, step_number = 2) AS came_back,
           sumIf(people, step_number = 3) AS paid_order
    FROM {FUNNEL_MART}
    WHERE send_date <= {{through:Date}} AND ({{any_campaign:Bool}} OR campaign_id = {{campaign:String}})
    GROUP BY campaign_id, send_date, variant
) AS f
LEFT JOIN (
    SELECT campaign_id, send_date, variant, groupArray((day_after_send, is_observed, active_people)) AS days
    FROM {RETENTION_MART}
    WHERE send_date <= {{through:Date}} AND ({{any_campaign:Bool}} OR campaign_id = {{campaign:String}})
    GROUP BY campaign_id, send_date, variant
) AS r USING (campaign_id, send_date, variant)
ORDER BY f.campaign_id, f.send_date DESC, f.variant = '{HOLDOUT}', f.variant
"""


@dataclass(frozen=True)
class ArmResponse:
    campaign_id: str
    send_date: date
    variant: str
    planned: int
    came_back: int
    paid_order: int
    active_per_day: tuple[int | None, ...]  # day 1..RETENTION_DAYS after the send; None while still to come

    @property
    def is_holdout(self) -> bool:
        return self.variant == HOLDOUT

    def share(self, people: int | None) -> float | None:
        return None if people is None or not self.planned else people / self.planned

    @property
    def retention(self) -> tuple[float | None, ...]:
        return tuple(self.share(active) for active in self.active_per_day)


def arm_responses(client, through: date, campaign_id: str | None = None) -> list[ArmResponse]:
    """Every arm of every send date up to `through` (of one campaign, or all), newest send date first, the
    holdout last. Empty until the marts are built."""
    if not (table_exists(client, FUNNEL_MART) and table_exists(client, RETENTION_MART)):
        return []
    parameters = {"through": through, "any_campaign": campaign_id is None, "campaign": campaign_id or ""}
    responses = []
    for campaign, send_date, variant, planned, came_back, paid, days in client.query(QUERY, parameters).result_rows:
        observed = {day: active for day, is_observed, active in days or [] if is_observed}
        curve = tuple(observed.get(day) for day in range(1, RETENTION_DAYS + 1))
        responses.append(ArmResponse(campaign, send_date, variant, planned, came_back, paid, curve))
    return responses
