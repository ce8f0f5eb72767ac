"""`nightshift run | status | sql | spark-init`: run the pipeline in this process (one date, or a range of dates in
order), look at the warehouse, prepare Spark's class archive."""

from __future__ import annotations

import json
import sys
import traceback
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from nightshift.cli.common import OutputFormat, console, current_settings, parse_date
from nightshift.errors import NightshiftError


def _print_results(results, with_dates: bool = False) -> None:
    table = Table(title="Stages", show_lines=False)
    for column in (["date"] if with_dates else []) + ["stage", "seconds", "rows", "summary"]:
        table.add_column(column, overflow="fold")
    for result in results:
        rows = ", ".join(f"{name}={count:,}" for name, count in result.rows.items())
        day = [str(result.run_date)] if with_dates else []
        table.add_row(*day, result.stage, f"{result.seconds:.1f}", rows, result.summary)
    console.print(table)


def _dates(run_date: str | None, from_date: str | None, to_date: str | None) -> tuple[date, date] | None:
    """(first, last) for a range, None for one date; a clear error unless exactly one way of giving dates is used."""
    if run_date is not None and (from_date is not None or to_date is not None):
        raise NightshiftError("Give either --date D (one date) or --from D1 --to D2 (a range), not both")
    if run_date is not None:
        return None
    if from_date is None or to_date is None:
        if from_date is not None or to_date is not None:
            given, missing = ("--from", "--to") if from_date is not None else ("--to", "--from")
            raise NightshiftError(f"{given} needs {missing}: a range is --from D1 --to D2 (both dates included)")
        raise NightshiftError("Which date? Give --date D (one date) or --from D1 --to D2 (a range, in order)")
    return parse_date(from_date), parse_date(to_date)


def run(
    run_date: Annotated[str | None, typer.Option("--date", help="Run (logical) date, YYYY-MM-DD.")] = None,
    from_date: Annotated[
        str | None, typer.Option("--from", help="First date of a range (a backfill), YYYY-MM-DD; needs --to.")
    ] = None,
    to_date: Annotated[str | None, typer.Option("--to", help="Last date of the range, included.")] = None,
    stages: Annotated[
        str | None, typer.Option(help="Comma-separated stages to run (default: all, in pipeline order).")
    ] = None,
) -> None:
    """Run the nightly pipeline (or some stages of it) for one date, or for every date of a range in order, in
    this process. A range stops at the first failed date and prints the command that resumes from it."""
    from nightshift.pipeline import BackfillStopped, run_range
    from nightshift.pipeline import run as run_pipeline

    wanted = [stage.strip() for stage in stages.split(",")] if stages else None
    dates = _dates(run_date, from_date, to_date)
    if dates is None:
        results = run_pipeline(
            parse_date(run_date),
            wanted,
            current_settings(),
            on_stage_done=lambda r: console.print(f"[green]✓[/] {r.stage:<10} {r.seconds:6.1f}s  {r.summary}"),
        )
        _print_results(results)
        return
    try:
        results = run_range(
            *dates,
            wanted,
            current_settings(),
            on_stage_done=lambda r: console.print(
                f"[green]✓[/] {r.run_date} {r.stage:<10} {r.seconds:6.1f}s  {r.summary}"
            ),
        )
    except BackfillStopped as stopped:
        if not isinstance(stopped.__cause__, NightshiftError):  # unexpected: keep its traceback for whoever fixes it
            traceback.print_exception(stopped.__cause__, file=sys.stderr)
        raise
    _print_results(results, with_dates=True)


def sql(
    query: Annotated[str, typer.Argument(help="A SELECT to run against the warehouse.")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json")] = OutputFormat.table,
) -> None:
    """Query the warehouse and print the result."""
    from nightshift.warehouse import get_client

    client = get_client(current_settings())
    if output is OutputFormat.csv:
        sys.stdout.write(client.raw_query(query, fmt="CSVWithNames").decode())
        return
    result = client.query(query)
    if output is OutputFormat.json:
        records = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
        sys.stdout.write(json.dumps(records, default=str, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(*result.column_names)
    for row in result.result_rows:
        table.add_row(*("NULL" if value is None else str(value) for value in row))
    console.print(table)
    console.print(f"{len(result.result_rows)} rows")


def status() -> None:
    """Settings in force, warehouse reachability, tables with row counts, and the last run of each stage."""
    from nightshift import runlog
    from nightshift.warehouse import get_client

    settings = current_settings()
    table = Table("setting", "value", title="Settings in force")
    for name, value in settings.describe().items():
        table.add_row(name, value)
    console.print(table)
    try:
        client = get_client(settings)
        version = client.query("SELECT version()").result_rows[0][0]
    except NightshiftError as error:
        console.print(f"[red]Warehouse not reachable:[/] {error}")
        raise typer.Exit(1) from None
    console.print(f"[green]Warehouse reachable[/]: ClickHouse {version} ({settings.warehouse.describe()})")
    tables = client.query(
        "SELECT database, name, engine, total_rows FROM system.tables "
        "WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema', 'default') "
        "ORDER BY database, name"
    ).result_rows
    table = Table("table", "engine", "rows", title="Tables")
    for database, name, engine, rows in tables:
        table.add_row(f"{database}.{name}", engine, "" if rows is None else f"{rows:,}")
    console.print(table)
    table = Table("stage", "last run date", "status", "finished at (UTC)", "message", title="Last run per stage")
    for stage, run_date, stage_status, finished_at, message in runlog.last_runs(client):
        colour = "green" if stage_status == "success" else "red"
        table.add_row(stage, str(run_date), f"[{colour}]{stage_status}[/]", str(finished_at)[:19], message[:80])
    console.print(table)


def spark_init() -> None:
    """Dump the Spark driver's class archive for this Java and Spark, if there is none yet
    (NIGHTSHIFT_SPARK_CLASS_CACHE: every later Spark session starts 3-5 s sooner). Idempotent; `make setup` runs it."""
    from nightshift.spark import class_archive, ensure_class_archive

    settings = current_settings()
    archive = class_archive(settings)
    if archive is None:
        console.print("Spark's class archive is off: NIGHTSHIFT_SPARK_CLASS_CACHE is empty, or Java has no version")
        return
    if archive.is_file():
        console.print(f"Spark's class archive is present: {archive}", soft_wrap=True)
        return
    with console.status(f"Dumping Spark's class archive into {archive.parent} (a short Spark job, once)"):
        ensure_class_archive(settings)
    size = archive.stat().st_size / 2**20
    console.print(f"Spark's class archive is ready: {archive} ({size:.0f} MB)", soft_wrap=True)
