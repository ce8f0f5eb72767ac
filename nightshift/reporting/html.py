"""`index.html`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) from a `Report`,
rendered with jinja2 from `templates/report.html.j2`. Autoescaping is on; only the SVG charts, built here from
escaped text, are marked safe."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from nightshift.reporting.charts import render_chart
from nightshift.reporting.model import Chart, Number, Report

TEMPLATES = Path(__file__).parent / "templates"
MAX_HTML_ROWS = 200  # per table on the page; the CSV beside it has every row
SHORT_CHECKSUM = 12
MAX_CELL_CHARS = 160  # long cells (a stage's every output file) are cut on the page, whole in the CSV
# Cells that mark a row as needing attention (shown red).
BAD_VALUES = frozenset({"failed", "critical", "warning", "fail", "error", "runtime error"})


def figure(value: Number | str | None) -> str:
    """A number as people read it: thousands separators, two decimals for money (floats)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def _cell(value, column: str) -> str:
    if column == "sha256" and isinstance(value, str):
        return value[:SHORT_CHECKSUM]
    text = figure(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _is_bad(row: tuple) -> bool:
    return any(isinstance(value, str) and value in BAD_VALUES for value in row)


def _svg(chart: Chart) -> Markup:
    return Markup(render_chart(chart))  # noqa: S704 - built from escaped labels in charts.py


def render_html(report: Report, subtitle: str = "") -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True
    )
    environment.filters.update(figure=figure, cell=_cell, is_bad=_is_bad, svg=_svg)
    template = environment.get_template("report.html.j2")
    return template.render(report=report, subtitle=subtitle, max_rows=MAX_HTML_ROWS)
