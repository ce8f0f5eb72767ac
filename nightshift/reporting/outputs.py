"""Everything in `<reports>/<run_date>/`: index.html, summary.md, one CSV per table, headlines.json (the headline
figures, for machines and tests), nightly_report.txt, and delivery.json when a delivery was configured.

Order of work: gather the figures, write every file, deliver, then write index.html again with the delivery
outcome at its foot (so the page says whether the e-mail and the robot got it).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from nightshift.dbt_runner import dbt_paths
from nightshift.deliveries.gate import DOCS_FOLDER
from nightshift.files import write_atomically
from nightshift.reporting import gather
from nightshift.reporting.delivery import Delivery, deliver
from nightshift.reporting.exports import exports
from nightshift.reporting.html import render_html
from nightshift.reporting.measurement import measurement
from nightshift.reporting.model import Report, Table
from nightshift.reporting.summary import render_summary
from nightshift.reporting.text import render_text
from nightshift.settings import Settings

INDEX = "index.html"
SUMMARY = "summary.md"
TEXT = "nightly_report.txt"
HEADLINES = "headlines.json"
DELIVERY = "delivery.json"


def report_dir(settings: Settings, run_date: date) -> Path:
    return settings.reports_dir / run_date.isoformat()


def latest_report_date(settings: Settings) -> date | None:
    """The latest run date that has an index.html, or None."""
    days = []
    for path in settings.reports_dir.glob(f"????-??-??/{INDEX}"):
        try:
            days.append(date.fromisoformat(path.parent.name))
        except ValueError:
            continue
    return max(days, default=None)


def report_link(settings: Settings, run_date: date) -> str:
    """Where people open the page: under NIGHTSHIFT_REPORT_URL_BASE when set, else the local file."""
    if settings.report_url_base:
        return f"{settings.report_url_base.rstrip('/')}/{run_date.isoformat()}/{INDEX}"
    return str(report_dir(settings, run_date) / INDEX)


def gate_docs_index(settings: Settings, run_date: date) -> Path | None:
    """The Data Docs page of the night's export gate, written by the export stage next to the report."""
    return next(iter((settings.reports_dir / run_date.isoformat() / DOCS_FOLDER).rglob("local_site/index.html")), None)


def build_report(client, settings: Settings, run_date: date) -> Report:
    """Every section, loss alerts first when there are any (and after reconciliation when there are none)."""
    generated_at = datetime.now(UTC)
    alerts = gather.loss_alerts(client, run_date)
    sections = [
        gather.run_summary(client, run_date),
        gather.ingestion(client, run_date),
        gather.data_quality(client, run_date, dbt_paths(settings)[0], gate_docs_index(settings, run_date)),
        gather.identity(client, run_date),
        gather.segments(client, run_date),
        gather.campaigns(client, run_date),
        exports(client, settings.exports_dir, run_date),
        gather.reconciliation(client, run_date),
    ]
    sections = [alerts, *sections] if alerts.alarm else [*sections, alerts]
    measured = measurement(client, run_date)  # absent until marts.campaign_measurement exists
    if measured is not None:
        sections.append(measured)
    return Report(run_date, sections, generated_at=generated_at)


def table_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(["" if value is None else value for value in row] for row in table.rows)
    return buffer.getvalue().encode("utf-8")


@dataclass
class ReportFiles:
    directory: Path
    files: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def failed_deliveries(self) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if not delivery.ok]


def _subtitle(settings: Settings) -> str:
    return f"Warehouse: {settings.warehouse.describe()} · exports: {settings.exports_dir}"


def write_report(client, settings: Settings, run_date: date) -> ReportFiles:
    directory = report_dir(settings, run_date)
    report = build_report(client, settings, run_date)
    files = {
        TEXT: render_text(client, run_date, settings.exports_dir / run_date.isoformat()).encode(),
        HEADLINES: (json.dumps(report.headlines(), indent=2, ensure_ascii=False) + "\n").encode(),
        SUMMARY: render_summary(report, report_link(settings, run_date)).encode(),
        INDEX: render_html(report, _subtitle(settings)).encode(),
    }
    files.update({f"{table.name}.csv": table_csv(table) for section in report.sections for table in section.tables})
    for stale in directory.glob("*.csv"):  # a table a previous run of this date had and this one has not
        if stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        write_atomically(directory / name, data)

    title = f"Nightshift report {run_date.isoformat()}"
    deliveries = deliver(settings, title, files[SUMMARY].decode(), directory / INDEX)
    if deliveries:
        report.delivery = {delivery.channel: delivery.describe() for delivery in deliveries}
        write_atomically(directory / INDEX, render_html(report, _subtitle(settings)).encode())
        outcome = [{"channel": d.channel, "ok": d.ok, "detail": d.detail} for d in deliveries]
        write_atomically(directory / DELIVERY, (json.dumps(outcome, indent=2, ensure_ascii=False) + "\n").encode())
        files[DELIVERY] = b""
    return ReportFiles(directory, sorted(files), deliveries)
