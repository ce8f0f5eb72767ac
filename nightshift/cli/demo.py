"""`nightshift demo` / `make demo`: generate a small world, run it night after night (the nightly pipeline, delivery
through the channel simulator, the world answering), show the outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nightshift.cli import common
from nightshift.errors import NightshiftError
from nightshift.settings import Settings

DEMO_SEED = 42
DEMO_USERS = 2_000
# Enough nights for reconciliation to have something to say: night 2 reconciles night 1's contacts against the
# world's answers, night 3 sees late receipts arrive.
DEMO_DAYS = 3
# The channels' APIs as the demo's simulator plays them: a few addresses refused for good (unsubscribed followers,
# invalid numbers) and a few 503s to retry, limits lifted so a night's sends take seconds.
DEMO_CHANNELS = {"invalid_share": 0.02, "unavailable_share": 0.01}
LEDGER_DIR = "channel_ledger"  # under the installation's home: what the simulated vendors accepted, every night


def prepare_demo_data(run_date: date, settings: Settings, users: int = DEMO_USERS, days: int = 1) -> None:
    """Write a generated world's landing files for `days` days from `run_date` (same seed, same files)."""
    from nightshift.generate import generate_world

    generate_world(settings.landing_dir, users=users, start_date=run_date, days=days, seed=DEMO_SEED, progress=True)


def ledger_dir(settings: Settings) -> Path:
    return settings.home / LEDGER_DIR


def deliver_through_simulator(run_date: date, settings: Settings, console: Console, in_process: bool) -> None:
    """The night's sealed API payloads (SMS, push, WeChat, WeCom) sent through the channel simulator, as the
    `channel_delivery` DAG sends them to the real vendors in production; what the simulator accepted goes to its
    ledger, which the world answers from tomorrow. The simulator runs in a process of its own, as a vendor does: in
    this one it would share the interpreter with the deliver stage's sending threads.

    The deliver stage runs where the night ran: in this process after an in-process night, else as `nightshift
    deliver` in a process of its own (the embedded warehouse admits one process at a time, and this one must not
    hold it while Airflow runs the next night)."""
    from nightshift.contracts import API_CHANNELS
    from nightshift.generate.channels import SIMULATOR_CREDENTIALS, SimulatorConfig, SimulatorProcess
    from nightshift.pipeline import run_stage

    config = SimulatorConfig(rate_limits=dict.fromkeys(API_CHANNELS, 0), **DEMO_CHANNELS)
    with SimulatorProcess(config, ledger_dir(settings)) as simulator:
        delivery = {  # the simulator's made-up credentials, whatever the environment holds: nothing leaves 127.0.0.1
            **SIMULATOR_CREDENTIALS,
            "NIGHTSHIFT_DELIVERY_ENDPOINTS": json.dumps(dict.fromkeys(API_CHANNELS, simulator.url)),
            "NIGHTSHIFT_DELIVERY_RATE_LIMITS": json.dumps(dict.fromkeys(API_CHANNELS, 0)),
        }
        with console.status(f"Delivering {run_date}'s API payloads through the channel simulator"):
            if in_process:
                os.environ.update(SIMULATOR_CREDENTIALS)
                configured = settings.model_copy(update={
                    "delivery_endpoints": delivery["NIGHTSHIFT_DELIVERY_ENDPOINTS"],
                    "delivery_rate_limits": delivery["NIGHTSHIFT_DELIVERY_RATE_LIMITS"],
                })  # fmt: skip
                summary = run_stage("deliver", run_date, settings=configured).summary
            else:
                command = [sys.executable, "-m", "nightshift.cli", "deliver", "--date", run_date.isoformat()]
                completed = subprocess.run(command, env={**os.environ, **delivery}, capture_output=True, text=True)
                if completed.returncode != 0:
                    raise NightshiftError(f"Delivering {run_date} failed:\n{completed.stderr[-3000:]}")
                summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
    console.print(f"✓ {'deliver':<10} {summary}", soft_wrap=True)


def answer_exports(run_date: date, settings: Settings, console: Console) -> None:
    """The simulated world answers the night's campaign and make-up files: grants and receipts land on the next
    days, with a few faults (`<landing>/_truth/reconciliation_faults.csv`), for the next nights to reconcile. The
    channels delivered through their APIs are answered from what the simulator accepted."""
    from nightshift.generate.responder import respond

    summary = respond(settings.exports_dir / run_date.isoformat(), settings.landing_dir, run_date, DEMO_SEED,
                      channel_ledger=ledger_dir(settings))  # fmt: skip
    console.print(f"The world answered {run_date}'s exports: {summary.describe()}", soft_wrap=True)


def _run_through_airflow(run_date: date, settings: Settings, console: Console) -> None:
    """One DAG run; Airflow's own output (every task's log, dbt's node-by-node lines) goes to a log file, so the
    terminal shows progress and the outputs, and the log is one path away when something needs a closer look."""
    from nightshift.airflow_setup import dags_test, init_airflow

    init_airflow(settings)
    log_path = settings.airflow_home / "logs" / f"demo_dags_test_{run_date}.log"
    console.print(f"Running `airflow dags test nightly_marketing {run_date}` (Airflow home {settings.airflow_home})")
    started = time.perf_counter()
    with console.status(f"Airflow is running the nightly DAG for {run_date} (log: {log_path})"):
        completed = dags_test(run_date, settings, capture_output=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text((completed.stdout or "") + (completed.stderr or ""), encoding="utf-8")
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout or "").splitlines()[-40:] + (completed.stderr or "").splitlines()[-40:])
        raise NightshiftError(
            f"The nightly DAG failed for {run_date}. Last lines of its log (whole log: {log_path}):\n{tail}"
        )
    elapsed = time.perf_counter() - started
    console.print(f"DAG run finished in {elapsed:.0f} s; Airflow's log: {log_path}", soft_wrap=True)


def show_outputs(run_date: date, settings: Settings, console: Console) -> None:
    from nightshift.reporting.gather import ingestion_by_source
    from nightshift.reporting.outputs import INDEX, SUMMARY, TEXT, report_dir
    from nightshift.warehouse import get_client

    client = get_client(settings)
    ingestion = ingestion_by_source(client, run_date)
    if ingestion:
        table = Table(
            "source",
            "files",
            "lines",
            "loaded",
            "duplicates",
            "quarantined",
            "by reason",
            title=f"Ingestion summary for {run_date}",
        )
        for source, files, lines, loaded, duplicates, quarantined, reasons in ingestion:
            by_reason = ", ".join(f"{code} {count}" for code, count in sorted(reasons.items()) if count)
            table.add_row(
                source, str(files), f"{lines:,}", f"{loaded:,}", f"{duplicates:,}", f"{quarantined:,}", by_reason
            )
        console.print(table)

    stages = client.query(
        "SELECT stage, argMax(status, finished_at), argMax(message, finished_at) FROM ops.stage_runs "
        "WHERE run_date = {d:Date} GROUP BY stage ORDER BY min(started_at)",
        parameters={"d": run_date},
    ).result_rows
    table = Table("stage", "status", "summary", title=f"Nightly run {run_date}")
    for stage, status, message in stages:
        table.add_row(stage, status, message)
    console.print(table)

    export_dir = settings.exports_dir / run_date.isoformat()
    # One line per file, never a table: a table truncates long paths on a narrow terminal, and every path here
    # is something a person will want to copy.
    console.print(f"[bold]Exports directory[/]: {export_dir}", soft_wrap=True)
    for manifest_path in sorted(export_dir.glob("*.manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        console.print(f"  {manifest['file']}  {manifest['rows']:,} rows, manifest {manifest_path.name}", soft_wrap=True)
    reports = report_dir(settings, run_date)
    console.print(f"[bold]Report[/]: {reports / INDEX}  (also {SUMMARY}, {TEXT} and CSVs)", soft_wrap=True)
    console.print(f"[bold]Warehouse[/]: {settings.warehouse.describe()}  (try `nightshift status`, `nightshift sql`)")
    console.print(f"[bold]Lake[/]: {settings.lake_root}    [bold]Landing[/]: {settings.landing_dir}")
    console.print(f"[bold]API deliveries[/]: audience.delivery_results, and what the simulated vendors accepted in "
                  f"{ledger_dir(settings)}", soft_wrap=True)  # fmt: skip


def run_demo(
    run_date: date, users: int, use_airflow: bool, settings: Settings, console: Console, days: int = DEMO_DAYS
) -> None:
    """`days` nights from `run_date`: each night the pipeline runs, then the world answers what it exported."""
    last = run_date + timedelta(days=days - 1)
    console.rule(f"1/3  Generating a world of {users:,} people for {run_date}..{last} into {settings.landing_dir}")
    prepare_demo_data(run_date, settings, users, days)
    for night in range(days):
        day = run_date + timedelta(days=night)
        console.rule(f"2/3  Night {night + 1} of {days}: the nightly pipeline for {day}")
        if use_airflow:
            _run_through_airflow(day, settings, console)
        else:
            from nightshift.pipeline import NIGHTLY_STAGES, run

            # the nightly DAG's stages; deliver follows on its own, as the channel_delivery DAG does
            run(day, NIGHTLY_STAGES, settings, on_stage_done=lambda r: console.print(f"✓ {r.stage:<10} {r.summary}"))
        deliver_through_simulator(day, settings, console, in_process=not use_airflow)
        answer_exports(day, settings, console)
    console.rule(f"3/3  What the last night ({last}) produced, and where")
    show_outputs(last, settings, console)


def demo(
    run_date: Annotated[str, typer.Option("--date", help="Demo run date.")] = common.DEMO_DATE.isoformat(),
    users: Annotated[int, typer.Option(help="People in the generated world.")] = DEMO_USERS,
    use_airflow: Annotated[
        bool, typer.Option("--airflow/--no-airflow", help="Run through `airflow dags test` (default) or in-process.")
    ] = True,
    days: Annotated[int, typer.Option(min=1, max=31, help="Nights to run, the world answering each night.")] = (
        DEMO_DAYS
    ),
) -> None:
    """Generate demo data, run the nightly DAG night after night (the world answering every night's exports),
    and show where every output is."""
    run_demo(common.parse_date(run_date), users, use_airflow, common.current_settings(), common.console, days)
