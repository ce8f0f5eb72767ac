"""`nightshift report open [--date D]`: where the morning report of a night is (the latest night by default)."""

from __future__ import annotations

from typing import Annotated

import typer

from nightshift.cli.common import console, current_settings, parse_date

report_app = typer.Typer(
    help="The morning report: index.html, summary.md and CSVs in NIGHTSHIFT_REPORTS/<date>/.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@report_app.command("open")
def open_report(
    run_date: Annotated[str, typer.Option("--date", help="Run date, YYYY-MM-DD; default: the latest report.")] = "",
    browser: Annotated[bool, typer.Option("--browser", help="Also open it in this machine's web browser.")] = False,
) -> None:
    """Print the path of a night's index.html (and open it with --browser where a browser exists)."""
    import webbrowser

    from nightshift.errors import NightshiftError
    from nightshift.reporting.outputs import INDEX, latest_report_date, report_dir

    settings = current_settings()
    day = parse_date(run_date) if run_date else latest_report_date(settings)
    if day is None:
        raise NightshiftError(
            f"No report in {settings.reports_dir} yet: run `nightshift run --date D` (the report stage writes it)"
        )
    path = report_dir(settings, day) / INDEX
    if not path.exists():
        raise NightshiftError(f"No report for {day} ({path} does not exist): run `nightshift run --date {day} "
                              "--stages report`")  # fmt: skip
    console.print(str(path), soft_wrap=True, highlight=False)
    if browser and not webbrowser.open(path.as_uri()):
        console.print("No web browser is available here; open the path above.", style="yellow")
