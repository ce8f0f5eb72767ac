"""`nightshift generate | respond | ingest | load-cdnow`: landing files, simulated or real, and loading them outside
Airflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nightshift.cli.common import DEMO_DATE, console, current_settings, parse_date


def generate(
    users: Annotated[int, typer.Option(min=1_000, max=10_000_000, help="People in the world.")] = 10_000,
    days: Annotated[int, typer.Option(min=1, help="Days of landing files to write.")] = 1,
    start_date: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = DEMO_DATE.isoformat(),
    seed: Annotated[int, typer.Option(help="Random seed: same seed and arguments give identical files.")] = 42,
    dirt_rate: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of records made dirty.")] = 0.01,
) -> None:
    """Generate a simulated multi-channel world as landing files (plus ground truth under _truth/)."""
    from nightshift.generate import generate_world

    settings = current_settings()
    summary = generate_world(
        settings.landing_dir,
        users=users,
        start_date=parse_date(start_date),
        days=days,
        seed=seed,
        dirt_rate=dirt_rate,
        progress=True,
    )
    console.print(summary)
    console.print(f"Landing files in {settings.landing_dir}")


def respond(
    run_date: Annotated[str, typer.Option("--date", help="Business date whose exports to answer, YYYY-MM-DD.")],
    seed: Annotated[int, typer.Option(help="Random seed: same exports and seed give identical files.")] = 42,
    conversion_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Chance that a contact who can buy places an extra order because of the message (default 0.08; "
            "0 gives an A/A world, where no variant beats its holdout).",
        ),
    ] = None,
    channel_ledger: Annotated[
        Path | None,
        typer.Option(
            help="Ledger directory of `nightshift simulate channels`: the channels delivered through their APIs are "
            "answered from what the simulator accepted (default: every exported file counts as sent).",
        ),
    ] = None,
) -> None:
    """The simulated world answers a date's campaign exports: benefit grants and vendor receipts on the next
    days' landing (a few faults injected), their truth in _truth/reconciliation_faults.csv, and the extra orders
    the messages cause, their injected uplift in _truth/measurement_uplift.csv. Re-running replaces."""
    from nightshift.generate.responder import ResponderRates
    from nightshift.generate.responder import respond as answer

    settings = current_settings()
    business_date = parse_date(run_date)
    rates = ResponderRates() if conversion_rate is None else ResponderRates(conversion_rate=conversion_rate)
    exports_day = settings.exports_dir / business_date.isoformat()
    summary = answer(exports_day, settings.landing_dir, business_date, seed, rates, channel_ledger)
    console.print(summary.describe())
    console.print(f"Landing files in {settings.landing_dir}; faults in {settings.landing_dir / summary.truth_file}")
    console.print(f"Injected uplift in {settings.landing_dir / summary.uplift_truth_file}")


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


def ingest(
    run_date: Annotated[str, typer.Option("--date", help="Drop date to ingest, YYYY-MM-DD.")],
    source: Annotated[str | None, typer.Option(help="Only this source (default: all sources).")] = None,
) -> None:
    """Ingest one day's landing files into raw tables (quarantining bad records) outside Airflow."""
    from nightshift.ingest.day import ingest_day

    _print_ingestion(ingest_day(parse_date(run_date), source, current_settings()))


def load_cdnow(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Path of CDNOW_master.txt")],
) -> None:
    """Load the real CDNOW transaction log as the orders source `cdnow` (same validation and quarantine)."""
    from nightshift.ingest.cdnow import load_cdnow as load

    _print_ingestion(load(path, current_settings()))
