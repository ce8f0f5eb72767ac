"""The `nightshift` command line: run the pipeline, query the warehouse, inspect state."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nightshift.campaigns.cli import campaign_app
from nightshift.errors import NightshiftError
from nightshift.segments.cli import segment_app

app = typer.Typer(
    name="nightshift",
    help="Nightshift: the nightly batch marketing pipeline (ClickHouse + dbt + Spark + Airflow).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

DEMO_DATE = date(2026, 11, 20)
DEMO_USERS = 2_000


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _settings():
    from nightshift.settings import get_settings

    return get_settings()


def _parse_date(value: str) -> date:
    from nightshift.pipeline import parse_run_date

    return parse_run_date(value)


def _print_results(results) -> None:
    table = Table(title="Stages", show_lines=False)
    for column in ("stage", "seconds", "rows", "summary"):
        table.add_column(column, overflow="fold")
    for result in results:
        rows = ", ".join(f"{name}={count:,}" for name, count in result.rows.items())
        table.add_row(result.stage, f"{result.seconds:.1f}", rows, result.summary)
    console.print(table)


@app.command()
def run(
    run_date: Annotated[str, typer.Option("--date", help="Run (logical) date, YYYY-MM-DD.")],
    stages: Annotated[
        str | None, typer.Option(help="Comma-separated stages to run (default: all, in pipeline order).")
    ] = None,
) -> None:
    """Run the nightly pipeline (or some stages of it) for one date in this process."""
    from nightshift.pipeline import run as run_pipeline

    wanted = [stage.strip() for stage in stages.split(",")] if stages else None
    results = run_pipeline(
        _parse_date(run_date),
        wanted,
        _settings(),
        on_stage_done=lambda r: console.print(f"[green]✓[/] {r.stage:<10} {r.seconds:6.1f}s  {r.summary}"),
    )
    _print_results(results)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SELECT to run against the warehouse.")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json")] = OutputFormat.table,
) -> None:
    """Query the warehouse and print the result."""
    from nightshift.warehouse import get_client

    client = get_client(_settings())
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


@app.command()
def status() -> None:
    """Settings in force, warehouse reachability, tables with row counts, and the last run of each stage."""
    from nightshift import runlog
    from nightshift.warehouse import get_client

    settings = _settings()
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


@app.command()
def generate(
    users: Annotated[int, typer.Option(min=1_000, max=10_000_000, help="People in the world.")] = 10_000,
    days: Annotated[int, typer.Option(min=1, help="Days of landing files to write.")] = 1,
    start_date: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = DEMO_DATE.isoformat(),
    seed: Annotated[int, typer.Option(help="Random seed: same seed and arguments give identical files.")] = 42,
    dirt_rate: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of records made dirty.")] = 0.01,
) -> None:
    """Generate a simulated multi-channel world as landing files (plus ground truth under _truth/)."""
    from nightshift.generate import generate_world

    settings = _settings()
    summary = generate_world(
        settings.landing_dir,
        users=users,
        start_date=_parse_date(start_date),
        days=days,
        seed=seed,
        dirt_rate=dirt_rate,
        progress=True,
    )
    console.print(summary)
    console.print(f"Landing files in {settings.landing_dir}")


INGESTION_COLUMNS = (
    "source_file",
    "status",
    "encoding",
    "lines",
    "loaded",
    "duplicates",
    "quarantined",
    "quarantined_by_reason",
    "late_rows",
    "drift_rows",
    "message",
)


def _print_ingestion(rows) -> None:
    if not rows:
        console.print("nothing ingested")
        return
    rows = [row if isinstance(row, dict) else row.__dict__ for row in rows]
    columns = [c for c in INGESTION_COLUMNS if c in rows[0]]
    table = Table(*columns, title="Ingestion summary")
    for row in rows:
        table.add_row(*(str(row[column]) for column in columns))
    console.print(table)


@app.command()
def ingest(
    run_date: Annotated[str, typer.Option("--date", help="Drop date to ingest, YYYY-MM-DD.")],
    source: Annotated[str | None, typer.Option(help="Only this source (default: all sources).")] = None,
) -> None:
    """Ingest one day's landing files into raw tables (quarantining bad records) outside Airflow."""
    from nightshift.ingest.day import ingest_day

    _print_ingestion(ingest_day(_parse_date(run_date), source, _settings()))


@app.command("load-cdnow")
def load_cdnow(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Path of CDNOW_master.txt")],
) -> None:
    """Load the real CDNOW transaction log as the orders source `cdnow` (same validation and quarantine)."""
    from nightshift.ingest.cdnow import load_cdnow as load

    _print_ingestion(load(path, _settings()))


@app.command("airflow-init")
def airflow_init() -> None:
    """Prepare the in-repo Airflow home (SQLite metadata, the warehouse pool). Idempotent."""
    from nightshift.airflow_setup import init_airflow

    init_airflow(_settings())


@app.command("airflow-standalone")
def airflow_standalone() -> None:
    """Start `airflow standalone` with the project's DAGs (UI, scheduler, dag-processor, triggerer)."""
    from nightshift.airflow_setup import standalone

    standalone(_settings())


@app.command()
def demo(
    run_date: Annotated[str, typer.Option("--date", help="Demo run date.")] = DEMO_DATE.isoformat(),
    users: Annotated[int, typer.Option(help="People in the generated world.")] = DEMO_USERS,
    use_airflow: Annotated[
        bool, typer.Option("--airflow/--no-airflow", help="Run through `airflow dags test` (default) or in-process.")
    ] = True,
) -> None:
    """Generate demo data, run the nightly DAG for one date, and show where every output is."""
    from nightshift.demo import run_demo

    run_demo(_parse_date(run_date), users, use_airflow, _settings(), console)


@app.command()
def profile(
    one_id: Annotated[int, typer.Argument(help="The person's one_id (see marts.identity_map).")],
    recent: Annotated[int, typer.Option(help="How many recent events and orders to show.")] = 10,
) -> None:
    """One person's identities, tags (with history) and recent activity."""
    from nightshift.profile_view import show_profile

    show_profile(one_id, _settings(), console, recent=recent)


# Command groups that live with their packages: `nightshift segment ...` and `nightshift campaign ...`.
app.add_typer(segment_app, name="segment")
app.add_typer(campaign_app, name="campaign")


def main() -> None:
    """Entry point: expected failures print one clear message and exit 1, never a stack trace."""
    try:
        app()
    except NightshiftError as error:
        err_console.print(f"[bold red]error:[/] {error}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
