"""`ops.stage_runs`: one row per stage execution, so `nightshift status` can show the last run per stage."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

STAGE_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS ops.stage_runs
(
    stage        LowCardinality(String),
    run_date     Date,
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    status       LowCardinality(String),
    rows_json    String,
    message      String
)
ENGINE = MergeTree
ORDER BY (stage, run_date, started_at)
"""


def record(client, stage: str, run_date: date, started_at: datetime, status: str, rows: dict, message: str) -> None:
    client.command("CREATE DATABASE IF NOT EXISTS ops")
    client.command(STAGE_RUNS_DDL)
    client.insert(
        "ops.stage_runs",
        [[stage, run_date, started_at, datetime.now(UTC), status, json.dumps(rows, sort_keys=True), message]],
        column_names=["stage", "run_date", "started_at", "finished_at", "status", "rows_json", "message"],
    )


def last_runs(client) -> list[tuple]:
    """(stage, run_date, status, finished_at, message) of the latest execution of each stage."""
    client.command("CREATE DATABASE IF NOT EXISTS ops")
    client.command(STAGE_RUNS_DDL)
    return client.query(
        "SELECT stage, argMax(run_date, finished_at), argMax(status, finished_at), max(finished_at), "
        "argMax(message, finished_at) FROM ops.stage_runs GROUP BY stage ORDER BY stage"
    ).result_rows
