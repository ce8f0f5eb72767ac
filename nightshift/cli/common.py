"""What every command group shares: the consoles, the date and settings helpers, output formats."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from rich.console import Console

console = Console()
err_console = Console(stderr=True)

DEMO_DATE = date(2026, 11, 20)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def current_settings():
    from nightshift.settings import get_settings

    return get_settings()


def parse_date(value: str) -> date:
    from nightshift.stages.context import parse_run_date

    return parse_run_date(value)
