"""The Airflow plugin that shows each run's report: its FastAPI app (served through starlette's test client, no
mocks) and its registration (external views for the navigation and the DAG run page)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO_ROOT

DAY = "2026-11-20"


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("nightshift_reports", REPO_ROOT / "plugins" / "nightshift_reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(plugin, tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("NIGHTSHIFT_REPORTS", str(tmp_path))
    (tmp_path / DAY).mkdir()
    (tmp_path / DAY / "index.html").write_text("<h1>Nightshift nightly report</h1>", encoding="utf-8")
    (tmp_path / DAY / "summary.md").write_text("## Nightshift", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not a report", encoding="utf-8")
    return TestClient(plugin.create_app())


def test_a_dag_run_opens_its_nights_report(client):
    for run_id in (f"scheduled__{DAY}T00:00:00+00:00", f"manual__{DAY}T00:00:00+00:00"):
        response = client.get(f"/runs/nightly_marketing/{run_id}")
        assert response.status_code == 200 and "Nightshift nightly report" in response.text
    missing = client.get("/runs/nightly_marketing/manual__2026-11-21T00:00:00+00:00")
    assert missing.status_code == 404 and "No report for 2026-11-21" in missing.text


def test_the_index_lists_every_night_and_only_report_files_are_served(client):
    assert f'href="{DAY}/index.html"' in client.get("/").text
    assert client.get(f"/{DAY}/summary.md").text == "## Nightshift"
    assert client.get(f"/{DAY}/..%2Fsecret.txt").status_code == 404
    assert client.get("/not-a-date/index.html").status_code == 404


def test_plugin_registers_the_app_and_a_tab_on_every_dag_run(plugin):
    registered = plugin.NightshiftReportsPlugin
    assert registered.fastapi_apps[0]["url_prefix"] == "/nightshift-reports"
    tab = next(view for view in registered.external_views if view["destination"] == "dag_run")
    assert tab["href"] == "nightshift-reports/runs/{DAG_ID}/{RUN_ID}"
