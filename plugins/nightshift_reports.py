"""Airflow plugin: the morning reports inside the Airflow UI.

- a "Nightshift report" tab on every DAG run page (external view, destination `dag_run`), which opens that run's
  `index.html`: the run date is the date in the run id (`scheduled__2026-11-20T...`, `manual__2026-11-20T...`),
  else the run's logical date from Airflow's metadata;
- a "Nightshift reports" entry in the navigation listing every night's report;
- both served by a small FastAPI app mounted on the API server at /nightshift-reports, reading
  NIGHTSHIFT_REPORTS (only the files of `<reports>/<YYYY-MM-DD>/`, nothing else).

Airflow imports every plugin file into every component (and DAG parsing loads plugins), so nothing of Nightshift
is imported here until a page is requested; only the FastAPI app object is built at import.
"""

from __future__ import annotations

import re
from datetime import date
from html import escape

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/nightshift-reports"
INDEX = "index.html"  # nightshift.reporting.outputs.INDEX, not imported: it would load the warehouse client
FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.(html|md|csv|json|txt)$")
RUN_DATE_IN_RUN_ID = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _run_date(dag_id: str, run_id: str) -> date | None:
    found = RUN_DATE_IN_RUN_ID.search(run_id)
    if found:
        return date.fromisoformat(found.group(1))
    try:  # a run id without a date (an API trigger with a custom id): ask the metadata database
        from airflow.models.dagrun import DagRun

        runs = DagRun.find(dag_id=dag_id, run_id=run_id)
        logical = runs[0].logical_date if runs else None
        return logical.date() if logical else None
    except Exception:  # noqa: BLE001 - no metadata database here: the page says what is missing
        return None


def create_app():
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

    def reports_dir():
        from nightshift.settings import get_settings

        return get_settings().reports_dir

    app = FastAPI(title="Nightshift reports")

    @app.get("/", response_class=HTMLResponse)
    def every_report() -> str:
        reports = reports_dir()
        days = sorted((p.parent.name for p in reports.glob(f"????-??-??/{INDEX}")), reverse=True)
        items = "".join(f'<li><a href="{day}/{INDEX}">{day}</a></li>' for day in days) or "<li>none yet</li>"
        return f"<!DOCTYPE html><html><body><h1>Nightshift reports</h1><p>{escape(str(reports))}</p><ul>{items}</ul>"

    @app.get("/runs/{dag_id}/{run_id}")
    def report_of_run(dag_id: str, run_id: str):
        day = _run_date(dag_id, run_id)
        if day is None:
            raise HTTPException(404, f"No run date found for run {run_id!r} of {dag_id!r}")
        if not (reports_dir() / day.isoformat() / INDEX).exists():
            raise HTTPException(404, f"No report for {day}: the report task of this run has not written it yet")
        return RedirectResponse(f"../../{day.isoformat()}/{INDEX}")  # relative: works behind a proxy prefix

    @app.get("/{day}/{name}")
    def report_file(day: str, name: str):
        try:
            date.fromisoformat(day)
        except ValueError:
            raise HTTPException(404, f"{day!r} is not a run date (YYYY-MM-DD)") from None
        path = reports_dir() / day / name
        if not FILE_NAME.match(name) or not path.is_file():
            raise HTTPException(404, f"No report file {name!r} for {day}")
        return FileResponse(path)

    return app


class NightshiftReportsPlugin(AirflowPlugin):
    name = "nightshift_reports"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Nightshift reports"}]
    external_views = [
        {"name": "Nightshift reports", "href": f"{URL_PREFIX.lstrip('/')}/", "destination": "nav",
         "category": "browse"},
        {"name": "Nightshift report", "href": f"{URL_PREFIX.lstrip('/')}/runs/{{DAG_ID}}/{{RUN_ID}}",
         "destination": "dag_run"},
    ]  # fmt: skip
