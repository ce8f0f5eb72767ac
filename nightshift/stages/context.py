"""What every stage receives and returns: `StageContext` (the run date, settings, a warehouse client opened on
first use) and `StageResult` (rows written, output paths, a one-line summary; small enough for Airflow's XCom).

Light on purpose: the DAG file imports the stage order through `nightshift.pipeline`, which imports this module,
when Airflow parses it; nothing here may import a warehouse client, Spark or a dataframe library at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from nightshift.errors import NightshiftError

if TYPE_CHECKING:
    from nightshift.settings import Settings


def parse_run_date(value: str | date | datetime) -> date:
    """A run (logical) date from YYYY-MM-DD text, a date or a datetime; a clear error for anything else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise NightshiftError(f"Run date {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-21") from None


@dataclass
class StageContext:
    run_date: date
    settings: Settings
    _client: object | None = None

    @property
    def client(self):
        """The warehouse client, opened on first use (one per process for the embedded engine)."""
        if self._client is None:
            from nightshift.warehouse import ensure_databases, get_client

            self._client = get_client(self.settings)
            ensure_databases(self._client)
        return self._client


@dataclass
class StageResult:
    stage: str
    run_date: date
    rows: dict[str, int] = field(default_factory=dict)  # table or file -> rows written for this date
    outputs: dict[str, str] = field(default_factory=dict)  # what -> where (paths of files written)
    summary: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """Small, JSON-serialisable form (what Airflow keeps in XCom)."""
        return {
            "stage": self.stage,
            "run_date": self.run_date.isoformat(),
            "rows": dict(self.rows),
            "outputs": dict(self.outputs),
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
        }
