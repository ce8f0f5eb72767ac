"""The measurement section (度量中心), from `marts.campaign_measurement`: each variant of each send date against
its holdout (conversion and GMV uplift with 95% intervals, minimum detectable effect, verdict, ROI: computed by
`nightshift.measurement`), then the mart's rows themselves. Absent (None) until the mart exists. Beside them, when
built: the funnel (marts.campaign_funnel) and the retention curves (marts.campaign_retention) of each arm, treated
variants next to the holdout, with one retention chart per campaign for its latest send date.

Only send dates on or before the run date are shown. The date filter of the raw rows uses the first date column
the table has among MEASUREMENT_DATE_COLUMNS (the section can be pointed at another table of the mart's shape).
"""

from __future__ import annotations

from datetime import date

from nightshift.measurement.responses import RETENTION_DAYS, arm_responses
from nightshift.measurement.results import MART, RECORD_COLUMNS, as_record, campaigns_measured, measure
from nightshift.measurement.statistics import SIGNIFICANT
from nightshift.reporting.model import Chart, Section, Table
from nightshift.warehouse.partitions import has_column, table_exists

MEASUREMENT_TABLE = MART
MEASUREMENT_DATE_COLUMNS = ("run_date", "send_date")
MAX_ROWS = 500


def _uplift_table(client, run_date: date) -> Table:
    """A row per variant total compared with its send date's holdout (channel rows carry no comparison)."""
    rows = [
        as_record(row)
        for campaign_id in campaigns_measured(client)
        for row in measure(client, campaign_id)
        if row.send_date <= run_date and row.conversion is not None
    ]
    return Table(
        "measurement__uplift", "Each variant against the holdout (95% intervals; small samples: not enough data)",
        list(RECORD_COLUMNS), [tuple(record[column] for column in RECORD_COLUMNS) for record in rows],
    )  # fmt: skip


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


def _responses(client, run_date: date) -> tuple[list[Table], list[Chart]]:
    """The funnel and the retention curve of each arm, and one chart per campaign: its latest send date's curves
    over the days observed so far."""
    responses = arm_responses(client, run_date)
    if not responses:
        return [], []
    funnel = Table(
        "measurement__funnel", "Funnel per arm: planned -> came back -> paid order, in the conversion window "
        "(treated variants beside the holdout)",
        ["campaign_id", "send_date", "variant", "planned", "came_back", "came_back_pct", "paid_order",
         "paid_order_pct"],
        [(r.campaign_id, r.send_date, r.variant, r.planned, r.came_back, _percent(r.share(r.came_back)),
          r.paid_order, _percent(r.share(r.paid_order))) for r in responses],
    )  # fmt: skip
    retention = Table(
        "measurement__retention", "Retention per arm: share of the planned people active on each day after the "
        "send (%; empty while the day is to come)",
        ["campaign_id", "send_date", "variant", "planned", *[f"day_{d}_pct" for d in range(1, RETENTION_DAYS + 1)]],
        [(r.campaign_id, r.send_date, r.variant, r.planned, *map(_percent, r.retention)) for r in responses],
    )  # fmt: skip
    charts = []
    for campaign in sorted({r.campaign_id for r in responses}):
        arms = [r for r in responses if r.campaign_id == campaign]
        latest = [r for r in arms if r.send_date == arms[0].send_date]  # newest send date first
        observed = min(sum(active is not None for active in r.active_per_day) for r in latest)
        if not observed:  # the send day itself is still to come
            continue
        series = {r.variant: [_percent(share) for share in r.retention[:observed]] for r in latest}
        labels = [f"day {day}" for day in range(1, observed + 1)]
        charts.append(Chart(f"Retention after {latest[0].send_date}: {campaign} (% active)", "trend", labels, series))
    return [funnel, retention], charts


def measurement(client, run_date: date, table_name: str = MEASUREMENT_TABLE) -> Section | None:
    if not table_exists(client, table_name):
        return None
    date_column = next((c for c in MEASUREMENT_DATE_COLUMNS if has_column(client, table_name, c)), None)
    where = f"WHERE `{date_column}` <= {{d:Date}} ORDER BY `{date_column}` DESC" if date_column else ""
    result = client.query(f"SELECT * FROM {table_name} {where} LIMIT {MAX_ROWS}", parameters={"d": run_date})
    raw = Table(
        "measurement__campaigns", f"{table_name}: reach and conversions per campaign, send date, variant, channel",
        list(result.column_names), [tuple(row) for row in result.result_rows],
    )  # fmt: skip
    if not raw.rows:  # nothing measured up to the run date (a send date is measured from the night after it)
        return Section("measurement", "Measurement (度量中心)", {}, [raw])
    headlines: dict[str, int] = {"rows": len(raw.rows)}
    tables, charts = [raw], []
    if table_name == MEASUREMENT_TABLE:
        uplift = _uplift_table(client, run_date)
        verdicts = uplift.column("conversion_verdict")
        headlines |= {"comparisons": len(uplift.rows), "significant": verdicts.count(SIGNIFICANT)}
        responses, charts = _responses(client, run_date)
        tables = [uplift, *responses, raw]
    return Section("measurement", "Measurement (度量中心)", headlines, tables, charts)
