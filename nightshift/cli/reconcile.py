"""`nightshift reconcile show`: planned vs granted and delivered, per campaign and class, and the keys to act on."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from nightshift.cli.common import OutputFormat, console, current_settings, parse_date


def _table(*columns: str, title: str) -> Table:
    """Columns fold rather than cut, so ids and class names stay whole on a narrow terminal."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


reconcile_app = typer.Typer(
    help="Reconciliation (对账补单): planned contacts against the benefit ledger and vendor receipts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

SUMMARY_SQL = """
SELECT business_date, campaign_id, class, keys, planned_fen, granted_fen
FROM audience.reconciliation
WHERE run_date = {d:Date} AND ({campaign:String} = '' OR campaign_id = {campaign:String})
ORDER BY business_date, campaign_id, class
"""
# Keys someone has to look at: everything that is neither fine nor still waiting.
ACTION_SQL = """
SELECT business_date, campaign_id, channel, contact_id, one_id, class, planned_fen, granted_fen, grants, vendor_code
FROM audience.reconciliation_items
WHERE run_date = {d:Date} AND class NOT IN ('ok', 'pending', 'replenished')
  AND ({campaign:String} = '' OR campaign_id = {campaign:String})
ORDER BY business_date, campaign_id, class, contact_id
"""
ALERTS_SQL = """
SELECT campaign_id, monitor, severity, money_at_risk_fen, keys, detail FROM audience.loss_alerts
WHERE run_date = {d:Date} AND ({campaign:String} = '' OR campaign_id = {campaign:String})
ORDER BY severity = 'critical' DESC, campaign_id, monitor
"""
# What tonight's run did about the keys: make-up orders, resends on a fallback channel, and what it refused.
ACTIONS_TAKEN_SQL = """
SELECT * FROM (
    SELECT campaign_id, 'make-up order' AS action, '' AS reason, count() AS keys FROM audience.replenishment
    WHERE run_date = {d:Date} AND ({campaign:String} = '' OR campaign_id = {campaign:String}) GROUP BY campaign_id
    UNION ALL
    SELECT campaign_id, concat('resend on ', channel), '', count() FROM audience.resends
    WHERE run_date = {d:Date} AND ({campaign:String} = '' OR campaign_id = {campaign:String})
    GROUP BY campaign_id, channel
    UNION ALL
    SELECT campaign_id, 'refused', reason, count() FROM audience.replenishment_refusals
    WHERE run_date = {d:Date} AND ({campaign:String} = '' OR campaign_id = {campaign:String})
    GROUP BY campaign_id, reason
)
ORDER BY campaign_id, action, reason
"""
RECEIPT_MATCHING_SQL = """
SELECT vendor_table, matched_by_key, matched_by_address, ambiguous, unmatched FROM audience.receipt_matching
WHERE run_date = {d:Date} ORDER BY vendor_table
"""


def _print_optional(client, sql: str, params: dict, table: Table, tables: tuple[str, ...]) -> None:
    """Rows of a query over tables an older installation may not have yet; nothing printed when empty."""
    from nightshift.warehouse.partitions import table_exists

    if not all(table_exists(client, name) for name in tables):
        return
    rows = client.query(sql, parameters=params).result_rows
    for row in rows:
        table.add_row(*(f"{value:,}" if isinstance(value, int) else str(value) for value in row))
    if rows:
        console.print(table)


@reconcile_app.command()
def show(
    run_date: Annotated[str, typer.Option("--date", help="Run date of the reconciliation, YYYY-MM-DD.")],
    campaign: Annotated[str, typer.Option(help="Only this campaign.")] = "",
    output: Annotated[OutputFormat, typer.Option("--format", help="table, or csv/json of the keys to act on")] = (
        OutputFormat.table
    ),
) -> None:
    """Per business date, campaign and class: keys and money; then the loss alerts and the keys to act on."""
    from nightshift.errors import NightshiftError
    from nightshift.warehouse import get_client
    from nightshift.warehouse.partitions import table_exists

    client = get_client(current_settings())
    day = parse_date(run_date)
    if not table_exists(client, "audience.reconciliation_items"):
        raise NightshiftError(f"Nothing reconciled yet: run `nightshift run --date {day} --stages reconcile` first")
    params = {"d": day, "campaign": campaign}
    if output is not OutputFormat.table:
        fmt = "CSVWithNames" if output is OutputFormat.csv else "JSONEachRow"
        sys.stdout.write(client.raw_query(ACTION_SQL, parameters=params, fmt=fmt).decode())
        return
    summary = _table("business date", "campaign", "class", "keys", "planned (yuan)", "granted (yuan)",
                     title=f"Reconciliation on {day}")  # fmt: skip
    for business_date, campaign_id, klass, keys, planned, granted in client.query(
        SUMMARY_SQL, parameters=params
    ).result_rows:
        summary.add_row(str(business_date), campaign_id, klass, f"{keys:,}", f"{planned / 100:,.2f}",
                        f"{granted / 100:,.2f}")  # fmt: skip
    console.print(summary)
    alerts = client.query(ALERTS_SQL, parameters=params).result_rows
    if alerts:
        table = _table("campaign", "monitor", "severity", "money at risk (yuan)", "keys", "detail", title="Loss alerts")
        for campaign_id, monitor, severity, money, keys, detail in alerts:
            colour = "red" if severity == "critical" else "yellow"
            table.add_row(campaign_id, monitor, f"[{colour}]{severity}[/]", f"{money / 100:,.2f}", f"{keys:,}", detail)
        console.print(table)
    actions = _table("campaign", "action", "reason", "keys", title="Done about it tonight")
    _print_optional(client, ACTIONS_TAKEN_SQL, params, actions,
                    ("audience.replenishment", "audience.resends", "audience.replenishment_refusals"))  # fmt: skip
    matching = _table("vendor table", "by key", "by address", "ambiguous (not assigned)", "unmatched",
                      title="How receipts found their contact")  # fmt: skip
    _print_optional(client, RECEIPT_MATCHING_SQL, params, matching, ("audience.receipt_matching",))
    rows = client.query(ACTION_SQL, parameters=params).result_rows
    table = _table("business date", "campaign", "channel", "contact_id", "one_id", "class", "planned", "granted",
                   "grants", "vendor code", title=f"Keys to act on ({len(rows):,})")  # fmt: skip
    for row in rows[:200]:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)
    if len(rows) > 200:
        console.print(f"... {len(rows) - 200:,} more: `nightshift reconcile show --date {day} --format csv`")
