"""`nightshift airflow-init | airflow-standalone`: the in-repo Airflow home and a local Airflow."""

from __future__ import annotations

from nightshift.cli.common import current_settings


def airflow_init() -> None:
    """Prepare the in-repo Airflow home (SQLite metadata, the warehouse pool). Idempotent."""
    from nightshift.airflow_setup import init_airflow

    init_airflow(current_settings())


def airflow_standalone() -> None:
    """Start `airflow standalone` with the project's DAGs (UI, scheduler, dag-processor, triggerer)."""
    from nightshift.airflow_setup import standalone

    standalone(current_settings())
