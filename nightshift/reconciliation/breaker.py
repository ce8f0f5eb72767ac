"""Circuit breakers: a critical loss alert (`audience.loss_alerts`) stops its campaign until a person resumes it.

A campaign is stopped on a date when it has a critical alert on or before that date which no resume acknowledged.
While stopped, the audiences stage plans nobody for it (every candidate recorded in `audience.exclusions` with
reason `circuit_open`), the export stage withholds its files, and the reconcile stage makes nothing up for it.
`nightshift campaign resume ID --reason "..."` records who let it go again, why, and up to which alert; the record
is kept in `ops.campaign_resumes` and never reset by a stage, so re-running a date does not re-open a breaker that
a person closed.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, date, datetime

from nightshift.errors import NightshiftError
from nightshift.warehouse.partitions import table_exists
from nightshift.warehouse.schema import ensure_tables

CIRCUIT_OPEN = "circuit_open"
CRITICAL = "critical"

TRIPS_SQL = """
SELECT campaign_id, max(run_date) AS tripped_on, argMax(monitor, run_date) AS monitor
FROM audience.loss_alerts
WHERE severity = 'critical' AND run_date <= {d:Date}
GROUP BY campaign_id
"""
ACKNOWLEDGED_SQL = "SELECT campaign_id, max(acknowledged_through) FROM ops.campaign_resumes GROUP BY campaign_id"


@dataclass(frozen=True)
class OpenBreaker:
    campaign_id: str
    tripped_on: date
    monitor: str


def open_breakers(client, as_of: date) -> dict[str, OpenBreaker]:
    """Campaigns stopped by a critical alert dated on or before `as_of` that no resume acknowledged."""
    if not table_exists(client, "audience.loss_alerts"):
        return {}
    ensure_tables(client, "ops.campaign_resumes")
    acknowledged = dict(client.query(ACKNOWLEDGED_SQL).result_rows)
    breakers = {}
    for campaign_id, tripped_on, monitor in client.query(TRIPS_SQL, parameters={"d": as_of}).result_rows:
        if campaign_id not in acknowledged or acknowledged[campaign_id] < tripped_on:
            breakers[campaign_id] = OpenBreaker(campaign_id, tripped_on, monitor)
    return breakers


def resume(client, campaign_id: str, reason: str, resumed_by: str | None = None) -> OpenBreaker:
    """Let a stopped campaign go again: acknowledges every critical alert it has had so far."""
    if not reason.strip():
        raise NightshiftError('Say why the campaign may go again: --reason "..." (kept in ops.campaign_resumes)')
    breaker = open_breakers(client, date.max).get(campaign_id)
    if breaker is None:
        raise NightshiftError(
            f"Campaign {campaign_id!r} has no open circuit breaker: nothing to resume "
            "(see `nightshift reconcile show --date D` for its alerts)"
        )
    client.insert(
        "ops.campaign_resumes",
        [[campaign_id, breaker.tripped_on, datetime.now(UTC), resumed_by or getpass.getuser(), reason.strip()]],
        column_names=["campaign_id", "acknowledged_through", "resumed_at", "resumed_by", "reason"],
    )
    return breaker
