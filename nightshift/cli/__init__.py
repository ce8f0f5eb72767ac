"""The `nightshift` command line: one module per command group, assembled here.

| module        | commands |
|---------------|----------|
| `pipeline.py` | `run`, `status`, `sql`, `spark-init` |
| `data.py`     | `generate`, `respond`, `ingest`, `load-cdnow` |
| `airflow.py`  | `airflow-init`, `airflow-standalone` |
| `demo.py`     | `demo` |
| `deliver.py`  | `deliver` |
| `profile.py`  | `profile` |
| `segment.py`  | `segment validate | preview | diff | explain | show` |
| `campaign.py` | `campaign validate | preview | measure | resume` |
| `reconcile.py`| `reconcile show` |
| `report.py`   | `report open` |
| `simulate.py` | `simulate channels` |
| `shortlinks.py` | `shortlinks serve` |

Command modules import the rest of Nightshift inside the commands, so `nightshift --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from nightshift.cli import airflow, data, deliver, demo, pipeline, profile
from nightshift.cli.campaign import campaign_app
from nightshift.cli.common import err_console
from nightshift.cli.reconcile import reconcile_app
from nightshift.cli.report import report_app
from nightshift.cli.segment import segment_app
from nightshift.cli.shortlinks import shortlinks_app
from nightshift.cli.simulate import simulate_app
from nightshift.errors import NightshiftError

app = typer.Typer(
    name="nightshift",
    help="Nightshift: the nightly batch marketing pipeline (ClickHouse + dbt + Spark + Airflow).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(pipeline.run)
app.command()(pipeline.sql)
app.command("spark-init")(pipeline.spark_init)
app.command()(pipeline.status)
app.command()(data.generate)
app.command()(data.respond)
app.command()(data.ingest)
app.command("load-cdnow")(data.load_cdnow)
app.command("airflow-init")(airflow.airflow_init)
app.command("airflow-standalone")(airflow.airflow_standalone)
app.command()(demo.demo)
app.command()(deliver.deliver)
app.command()(profile.profile)
app.add_typer(segment_app, name="segment")
app.add_typer(campaign_app, name="campaign")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(report_app, name="report")
app.add_typer(simulate_app, name="simulate")
app.add_typer(shortlinks_app, name="shortlinks")


def main() -> None:
    """Entry point: expected failures print one clear message and exit 1, never a stack trace."""
    try:
        app()
    except NightshiftError as error:
        err_console.print(f"[bold red]error:[/] {error}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
