"""What earlier nights left that tonight's audiences depend on: contact history (for frequency caps and the budget's
fatigue order) and money already spent per campaign. Read by the audiences stage and by `campaign preview`.

Both come from `audience.contact_history`, the contacts the export stage actually handed to channels, not from
the plan (`audience.campaign_audience`): a planned row that never left Nightshift is no contact. On a normal night
everything planned and not held out is exported, so the two agree (tests/test_audience_stage.py checks that the
decisions stay the same over consecutive nights).
"""

from __future__ import annotations

from datetime import date, timedelta

from nightshift.campaigns.models import BUDGET_FATIGUE_DAYS, CampaignPlan, Policy
from nightshift.contracts import USER_PROFILE_COLUMNS

# Contacts handed to a channel on earlier dates, for caps and the budget score (channel is always set there; the
# condition only keeps a stray empty channel from counting as a contact).
HISTORY_SQL = """
SELECT run_date, campaign_id, toInt64(one_id) AS one_id, channel, benefit_id
FROM audience.contact_history
WHERE run_date >= {since:Date} AND run_date < {d:Date} AND channel != ''
"""
# Money of the contacts handed over before the run date (holdout rows cost nothing and are never handed over).
SPENT_SQL = """
SELECT campaign_id, sum(cost_fen) FROM audience.contact_history
WHERE run_date < {d:Date} GROUP BY campaign_id
"""
# Columns the audience steps read; a profile without them cannot be targeted (see nightshift/contracts.py).
REQUIRED_PROFILE_COLUMNS = tuple(
    column for column in USER_PROFILE_COLUMNS if column.startswith(("can_receive_", "contact_ref_"))
) + ("timezone",)


def history_since(plans: list[CampaignPlan], policy: Policy, run_date: date) -> date:
    """First date of history the caps need: the longest rolling window, and each benefit's campaign lifetime."""
    windows = [cap.days for cap in policy.frequency_caps.values()]
    windows += [plan.frequency_cap.days for plan in plans if plan.frequency_cap]
    since = run_date - timedelta(days=max([*windows, BUDGET_FATIGUE_DAYS]))
    starts = [plan.start_date for plan in plans if plan.benefit]
    return min([since, *starts])


def spent_before(client, run_date: date) -> dict[str, int]:
    """Cost (fen) of every campaign's contacts handed over on dates before the run date."""
    rows = client.query(SPENT_SQL, parameters={"d": run_date}).result_rows
    return {campaign_id: int(spent) for campaign_id, spent in rows}
