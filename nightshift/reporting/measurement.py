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

from nightshift.campaigns.models import HOLDOUT
from nightshift.measurement.results import MART, RECORD_COLUMNS, as_record, campaigns_measured, measure
from nightshift.measurement.statistics import SIGNIFICANT
from nightshift.reporting.model import Chart, Section, Table
from nightshift.warehouse.partitions import has_column, table_exists

MEASUREMENT_TABLE = MART
MEASUREMENT_DATE_COLUMNS = ("run_date", "send_date")
MAX_ROWS = 500
FUNNEL_TABLE = "marts.campaign_funnel"
RETENTION_TABLE = "marts.campaign_retention"
RETENTION_DAYS = 7

FUNNEL_SQL = f"""
SELECT campaign_id, send_date, variant,
       sumIf(people, step_number = 1) AS planned,
       sumIf(people, step_number = 2) AS came_back,
       sumIf(people, step_number = 3) AS paid_order
FROM {FUNNEL_TABLE} WHERE send_date <= {{d:Date}}
GROUP BY campaign_id, send_date, variant
ORDER BY campaign_id, send_date DESC, variant = '{HOLDOUT}', variant
LIMIT {MAX_ROWS}
"""
RETENTION_SQL = f"""
SELECT campaign_id, send_date, variant, any(planned_people),
       groupArray((day_after_send, is_observed, retention_rate))
FROM {RETENTION_TABLE} WHERE send_date <= {{d:Date}}
GROUP BY campaign_id, send_date, variant
ORDER BY campaign_id, send_date DESC, variant = '{HOLDOUT}', variant
LIMIT {MAX_ROWS}
"""


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


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _funnel_table(client, run_date: date) -> Table | None:
    if not table_exists(client, FUNNEL_TABLE):
        return None
    rows = [
        (campaign, send_date, variant, planned, came_back, _share(came_back, planned), paid, _share(paid, planned))
        for campaign, send_date, variant, planned, came_back, paid in client.query(
            FUNNEL_SQL, parameters={"d": run_date}
        ).result_rows
    ]
    columns = ["campaign_id", "send_date", "variant", "planned", "came_back", "came_back_pct", "paid_order",
               "paid_order_pct"]  # fmt: skip
    return Table("measurement__funnel", "Funnel per arm: planned -> came back -> paid order, in the conversion window "
                 "(treated variants beside the holdout)", columns, rows)  # fmt: skip


def _retention(client, run_date: date) -> tuple[Table | None, list[Chart]]:
    """The curves per arm (share active on day 1..7 after the send, %; empty while the day is to come), and one
    chart per campaign: its latest send date's arms."""
    if not table_exists(client, RETENTION_TABLE):
        return None, []
    result = []
    for campaign, send_date, variant, planned, days in client.query(RETENTION_SQL, {"d": run_date}).result_rows:
        # observed days only: a day after the run date is not a drop to zero
        by_day = {day: round(100 * rate, 1) for day, observed, rate in days if observed}
        curve = [by_day.get(day) for day in range(1, RETENTION_DAYS + 1)]
        result.append((campaign, send_date, variant, planned, curve))
    days = [f"day_{day}_pct" for day in range(1, RETENTION_DAYS + 1)]
    table = Table(
        "measurement__retention", "Retention per arm: share of the planned people active on each day after the send",
        ["campaign_id", "send_date", "variant", "planned", *days],
        [(campaign, send_date, variant, planned, *curve) for campaign, send_date, variant, planned, curve in result],
    )  # fmt: skip
    latest: dict[str, date] = {}
    for campaign, send_date, *_ in result:
        latest.setdefault(campaign, send_date)  # rows come newest send date first
    charts = []
    for campaign, send_date in sorted(latest.items()):
        curves = {variant: curve for c, d, variant, _, curve in result if c == campaign and d == send_date}
        observed = min(sum(value is not None for value in curve) for curve in curves.values())
        if not observed:  # the send day itself is still to come
            continue
        series = {variant: list(curve[:observed]) for variant, curve in curves.items()}
        labels = [f"day {day}" for day in range(1, observed + 1)]
        charts.append(Chart(f"Retention after {send_date}: {campaign} (% active)", "trend", labels, series))
    return table, charts


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
        funnel = _funnel_table(client, run_date)
        retention, charts = _retention(client, run_date)
        tables = [uplift, *[t for t in (funnel, retention) if t is not None], raw]
    return Section("measurement", "Measurement (度量中心)", headlines, tables, charts)
