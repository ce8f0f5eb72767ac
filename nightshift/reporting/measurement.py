"""The measurement section (度量中心), from `marts.campaign_measurement`: each variant of each send date against
its holdout (conversion and GMV uplift with 95% intervals, minimum detectable effect, verdict, ROI: computed by
`nightshift.measurement`), then the mart's rows themselves. Absent (None) until the mart exists.

Only send dates on or before the run date are shown. The date filter of the raw rows uses the first date column
the table has among MEASUREMENT_DATE_COLUMNS (the section can be pointed at another table of the mart's shape).
"""

from __future__ import annotations

from datetime import date

from nightshift.measurement.results import MART, RECORD_COLUMNS, as_record, campaigns_measured, measure
from nightshift.measurement.statistics import SIGNIFICANT
from nightshift.reporting.model import Section, Table
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
    tables = [raw]
    if table_name == MEASUREMENT_TABLE:
        uplift = _uplift_table(client, run_date)
        verdicts = uplift.column("conversion_verdict")
        headlines |= {"comparisons": len(uplift.rows), "significant": verdicts.count(SIGNIFICANT)}
        tables.insert(0, uplift)
    return Section("measurement", "Measurement (度量中心)", headlines, tables)
