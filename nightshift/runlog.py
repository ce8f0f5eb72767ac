"""`ops.stage_runs`: one row per stage execution, so `nightshift status` can show the last run per stage."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from nightshift.warehouse.schema import ensure_tables


def record(client, stage: str, run_date: date, started_at: datetime, status: str, rows: dict, message: str) -> None:
    ensure_tables(client, "ops.stage_runs")
    client.insert(
        "ops.stage_runs",
        [[stage, run_date, started_at, datetime.now(UTC), status, json.dumps(rows, sort_keys=True), message]],
        column_names=["stage", "run_date", "started_at", "finished_at", "status", "rows_json", "message"],
    )


def last_runs(client) -> list[tuple]:
    """(stage, run_date, status, finished_at, message) of the latest execution of each stage."""
    ensure_tables(client, "ops.stage_runs")
    return client.query(
        "SELECT stage, argMax(run_date, finished_at), argMax(status, finished_at), max(finished_at), "
        "argMax(message, finished_at) FROM ops.stage_runs GROUP BY stage ORDER BY stage"
    ).result_rows
