"""`nightly_report.txt`: the fixed-width text report (72-column rules, one line per source, segment, campaign),
kept for the people and tests that read it; the same queries as the HTML report (`gather.py`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from nightshift.reporting.gather import (
    ALERTS_SQL,
    MAKE_UPS_SQL,
    RECONCILIATION_SQL,
    SEGMENT_CHANGES_SQL,
    ingestion_by_source,
)
from nightshift.warehouse.partitions import table_exists

RULE = "-" * 72


def _section(title: str, lines: list[str]) -> list[str]:
    return [title, RULE, *(lines or ["(none)"]), ""]


def _ingestion_lines(client, run_date) -> list[str]:
    lines = []
    for source, files, read, loaded, duplicates, quarantined, reasons in ingestion_by_source(client, run_date):
        by_reason = ", ".join(f"{code} {count}" for code, count in sorted(reasons.items()) if count)
        lines.append(
            f"{source:<12} files {files:>3}  lines {read:>10,}  loaded {loaded:>10,}  duplicates {duplicates:>6,}  "
            f"quarantined {quarantined:>6,}" + (f" ({by_reason})" if by_reason else "")
        )
    return lines


def _stage_lines(client, run_date) -> list[str]:
    if not table_exists(client, "ops.stage_runs"):
        return []
    rows = client.query(
        "SELECT stage, argMax(status, finished_at), argMax(rows_json, finished_at), argMax(message, finished_at) "
        "FROM ops.stage_runs WHERE run_date = {d:Date} GROUP BY stage ORDER BY min(started_at)",
        parameters={"d": run_date},
    ).result_rows
    lines = []
    for stage, status, rows_json, message in rows:
        counts = ", ".join(f"{name}={value}" for name, value in json.loads(rows_json or "{}").items())
        lines.append(f"{stage:<10} {status:<8} {counts}")
        if message:
            lines.append(f"{'':<10} {message[:200]}")
    return lines


def _query_lines(client, table: str, sql: str, run_date, fmt) -> list[str]:
    if not table_exists(client, table):
        return []
    return [fmt(*row) for row in client.query(sql, parameters={"d": run_date}).result_rows]


def _identity_lines(client, run_date) -> list[str]:
    return _query_lines(
        client,
        "identity.identity_summary",
        "SELECT people, ids, edges, merges, splits, blocked_ids, largest_component FROM identity.identity_summary "
        "WHERE run_date = {d:Date} ORDER BY people DESC LIMIT 1",
        run_date,
        lambda people, ids, edges, merges, splits, blocked, largest: (
            f"{people:,} people from {ids:,} ids and {edges:,} links; {merges:,} merges, {splits:,} splits, "
            f"{blocked:,} blocked ids (identity.identity_blocked), largest person {largest:,} ids"
        ),
    )


def _segment_lines(client, run_date) -> list[str]:
    def line(segment, members, entered, exited, previous_date) -> str:
        since = f"since {previous_date}" if previous_date else "first run"
        return f"{segment:<40} {members:>10,} people  +{entered:,} / -{exited:,} ({since})"

    return _query_lines(client, "audience.segment_changes", SEGMENT_CHANGES_SQL, run_date, line)


# One row per campaign: contacts per channel (holdout rows have no channel), cost, exclusions by reason.
CAMPAIGNS_SQL = """
WITH
    audience AS (
        SELECT campaign_id,
               sumMapIf(map(channel, toUInt64(1)), channel != '') AS by_channel,
               countIf(channel = '') AS holdout,
               sum(cost_fen) AS cost_fen
        FROM audience.campaign_audience WHERE run_date = {d:Date} GROUP BY campaign_id
    ),
    excluded AS (
        SELECT campaign_id, sumMap(map(reason, toUInt64(1))) AS by_reason
        FROM audience.exclusions WHERE run_date = {d:Date} GROUP BY campaign_id
    )
SELECT campaign_id, by_channel, holdout, cost_fen, by_reason
FROM audience FULL OUTER JOIN excluded USING (campaign_id)
ORDER BY campaign_id
"""


def _campaign_lines(client, run_date) -> list[str]:
    if not (table_exists(client, "audience.campaign_audience") and table_exists(client, "audience.exclusions")):
        return []
    lines = []
    for campaign, by_channel, holdout, cost_fen, by_reason in client.query(
        CAMPAIGNS_SQL, parameters={"d": run_date}, settings={"join_use_nulls": 0}
    ).result_rows:
        channels = ", ".join(f"{channel} {count:,}" for channel, count in sorted(by_channel.items())) or "none"
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(by_reason.items())) or "none"
        lines.append(
            f"{campaign:<28} contacts {sum(by_channel.values()):>8,} ({channels}); holdout {holdout:,}; "
            f"cost {cost_fen / 100:,.2f} yuan"
        )
        lines.append(f"{'':<28} excluded {sum(by_reason.values()):>8,} ({reasons})")
    return lines


def _reconciliation_lines(client, run_date) -> list[str]:
    """Loss alerts first (critical ones marked), then per campaign its classes with keys and money, and make-ups."""
    lines = _query_lines(
        client, "audience.loss_alerts", ALERTS_SQL, run_date,
        lambda campaign, monitor, severity, money, keys, detail: (
            f"{'!! ' if severity == 'critical' else ''}ALERT {severity.upper():<8} {campaign:<24} {monitor:<16} "
            f"{money / 100:>12,.2f} yuan at risk  {detail}"
        ),
    )  # fmt: skip
    per_campaign: dict[str, list[str]] = {}
    for campaign, klass, keys, planned, granted in _query_lines(
        client, "audience.reconciliation", RECONCILIATION_SQL, run_date, lambda *row: row
    ):
        per_campaign.setdefault(campaign, []).append(
            f"{klass} {keys:,} (planned {planned / 100:,.2f}, granted {granted / 100:,.2f} yuan)"
        )
    lines += [f"{campaign:<28} " + "; ".join(parts) for campaign, parts in per_campaign.items()]
    lines += _query_lines(
        client, "audience.replenishment", MAKE_UPS_SQL, run_date,
        lambda campaign, orders, fen: f"{campaign:<28} make-up orders {orders:,} ({fen / 100:,.2f} yuan)",
    )  # fmt: skip
    return lines


def render_text(client, run_date: date, export_dir: Path) -> str:
    """The whole text report for one run date (every figure read from the warehouse and the export manifests)."""
    lines = [f"Nightshift nightly report for {run_date.isoformat()}", "=" * 72, ""]
    lines += _section("Stages", _stage_lines(client, run_date))
    lines += _section(
        "Ingestion (latest load of each source today; rejects are in raw.quarantine)",
        _ingestion_lines(client, run_date),
    )
    lines += _section("Identity", _identity_lines(client, run_date))
    lines += _section("Segments (members today; entered and exited since the segment's previous run)",
                      _segment_lines(client, run_date))  # fmt: skip
    lines += _section("Campaigns (contacts planned per channel, holdout kept back, cost, exclusions)",
                      _campaign_lines(client, run_date))  # fmt: skip
    lines += _section(
        "Reconciliation (every key handed over inside the lag window: planned vs granted and delivered)",
        _reconciliation_lines(client, run_date),
    )
    manifests = [json.loads(path.read_text()) for path in sorted(export_dir.glob("*.manifest.json"))]
    width = max([40, *(len(manifest["file"]) for manifest in manifests)])
    export_lines = [
        f"{manifest['file']:<{width}} {manifest['rows']:>10,} rows  sha256 {manifest['sha256'][:12]}"
        for manifest in manifests
    ]
    lines += _section(f"Exports in {export_dir}", export_lines)
    return "\n".join(lines) + "\n"
