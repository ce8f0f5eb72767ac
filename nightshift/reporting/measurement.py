"""Hook for the measurement section (度量中心), fed from `marts.campaign_measurement`.

Another model builds that mart (issue 13, part 1); this module only shows what it holds for the run date, so the
report needs no change when it lands. Until the table exists the section is absent (None): nothing is rendered.
The date filter uses the first date column the mart has among MEASUREMENT_DATE_COLUMNS.
"""

from __future__ import annotations

from datetime import date

from nightshift.reporting.model import Section, Table
from nightshift.warehouse.partitions import has_column, table_exists

MEASUREMENT_TABLE = "marts.campaign_measurement"
MEASUREMENT_DATE_COLUMNS = ("run_date", "send_date")
MAX_ROWS = 500


def measurement(client, run_date: date, table_name: str = MEASUREMENT_TABLE) -> Section | None:
    if not table_exists(client, table_name):
        return None
    date_column = next((c for c in MEASUREMENT_DATE_COLUMNS if has_column(client, table_name, c)), None)
    where = f"WHERE `{date_column}` <= {{d:Date}} ORDER BY `{date_column}` DESC" if date_column else ""
    result = client.query(f"SELECT * FROM {table_name} {where} LIMIT {MAX_ROWS}", parameters={"d": run_date})
    table = Table(
        "measurement__campaigns", f"{table_name} (uplift against the holdout, intervals, ROI)",
        list(result.column_names), [tuple(row) for row in result.result_rows],
    )  # fmt: skip
    return Section("measurement", "Measurement (度量中心)", {"rows": len(table.rows)}, [table])
