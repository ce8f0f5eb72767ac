"""One drop date of landing files: which declared sources delivered files, and ingesting them.

Used by the ingest stage (`nightshift.stages.ingest`: Airflow maps one task per source over `sources_for`), the
CLI (`nightshift ingest`), `nightshift.ingest.cdnow.load_cdnow` and the benches. Re-running a date reads nothing
that is already loaded with the same checksum (see `nightshift.ingest.engine`).
"""

from __future__ import annotations

from datetime import date

from nightshift.ingest import engine
from nightshift.ingest import files as landing
from nightshift.settings import Settings
from nightshift.sources.catalog import all_sources
from nightshift.warehouse import ensure_databases, get_client


def sources_for(run_date: date, settings: Settings) -> list[str]:
    """Declared sources that have a landing directory for the run date, sorted."""
    return [name for name in sorted(all_sources()) if landing.day_dir(settings.landing_dir, name, run_date).is_dir()]


def ingest_day(run_date: date, source: str | None, settings: Settings, client=None, force: bool = False) -> list[dict]:
    """Ingest one source (or every source with files) for a date; returns one summary row per file.

    Without `client`, opens the configured warehouse (and creates Nightshift's databases) for this call.
    """
    if client is None:
        client = get_client(settings)
        ensure_databases(client)
    names = [source] if source else sources_for(run_date, settings)
    return engine.ingest(client, run_date, settings.landing_dir, names, force=force)
