"""What the renderers read: a `Report` is an ordered list of `Section`s, each with headline figures, tables (each
also written as CSV) and charts. Plain data, so the HTML, summary and tests all see the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

Number = int | float


@dataclass
class Table:
    name: str  # CSV file stem, unique in the report: "<section>__<table>"
    title: str
    columns: list[str]
    rows: list[tuple]

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


@dataclass
class Chart:
    """A bar chart (one series, `labels` as categories) or a trend (several series over `labels` as dates)."""

    title: str
    kind: str  # "bars" or "trend"
    labels: list[str]
    series: dict[str, list[Number]]


@dataclass
class Section:
    key: str
    title: str
    headline: dict[str, Number] = field(default_factory=dict)  # label -> figure, shown large and in summary.md
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alarm: bool = False  # shown first and in red (loss alerts)

    @property
    def is_empty(self) -> bool:
        return not (self.headline or any(table.rows for table in self.tables))


@dataclass
class Report:
    run_date: date
    sections: list[Section]
    # When the figures were read: ops.stage_runs grows after this (the report stage itself is logged after it).
    generated_at: datetime | None = None
    # Filled after delivery: channel -> "sent ..." or "failed: ..." (shown at the foot of the page).
    delivery: dict[str, str] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        known = [section.key for section in self.sections]
        raise KeyError(f"The report for {self.run_date} has no section {key!r}; it has {known}")

    def headlines(self) -> dict:
        """Headline figures per section, with the run date and the time they were read (headlines.json)."""
        return {
            "run_date": self.run_date.isoformat(),
            "generated_at": self.generated_at.isoformat() if self.generated_at else None,
            "sections": {section.key: dict(section.headline) for section in self.sections},
        }
