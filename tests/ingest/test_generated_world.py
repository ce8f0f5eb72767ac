"""Ingestion of a generated world agrees with the generator's ground truth, record by record.

Acceptance scale: `generate --users 10000 --days 3`, then ingestion of the three days. Every landing line is in a
raw table, counted as a duplicate, or quarantined (per-file equation, checked against the raw tables themselves);
every injected dirty record is quarantined with the right reason; no valid record is quarantined; ingesting the
same days again changes no counts.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta

import pytest

from nightshift.ingest.engine import ingest_source_day
from nightshift.sources.catalog import all_sources
from nightshift.sources.model import QUARANTINE_REASONS

FIRST_DAY = date(2026, 10, 5)
DAYS = [FIRST_DAY + timedelta(days=offset) for offset in range(3)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from nightshift.generate import generate_world

    landing = tmp_path_factory.mktemp("world-landing")
    generate_world(landing, users=10_000, start_date=FIRST_DAY, days=3, seed=11, dirt_rate=0.02, progress=False)
    with (landing / "_truth" / "dirty_records.csv").open(newline="") as handle:
        truth = [(row["source_file"], int(row["line_number"]), row["reason_code"]) for row in csv.DictReader(handle)]
    return landing, truth


def _simulated_sources():
    return [source for source in all_sources().values() if source.simulated]


def _ingest_all_days(client, landing):
    return {day: [r for s in _simulated_sources() for r in ingest_source_day(client, s, day, landing)] for day in DAYS}


def _raw_rows_per_file(client, day) -> Counter:
    counts: Counter = Counter()
    for source in _simulated_sources():
        for entity in source.entities:
            rows = client.query(
                f"SELECT _source_file, count() FROM {entity.raw_table} WHERE _drop_date = {{d:Date}} "
                "GROUP BY _source_file",
                parameters={"d": day},
            ).result_rows
            counts.update(dict(rows))
    return counts


def _quarantine_rows(client) -> set[tuple[str, int, str]]:
    names = {source.name for source in _simulated_sources()}
    rows = client.query(
        "SELECT source_file, line_number, reason_code FROM raw.quarantine WHERE _drop_date IN {days:Array(Date)}",
        parameters={"days": DAYS},
    ).result_rows
    return {(file, line, code) for file, line, code in rows if file.split("/")[0] in names}


@pytest.fixture(scope="module")
def first_ingestion(client, world):
    landing, _ = world
    return _ingest_all_days(client, landing)


def test_every_landing_line_is_loaded_duplicate_or_quarantined(client, world, first_ingestion):
    landing, _ = world
    for day, results in first_ingestion.items():
        raw_rows = _raw_rows_per_file(client, day)
        for result in results:
            if result.status not in ("loaded", "replaced", "reloaded"):
                continue
            assert result.lines == result.loaded + result.duplicates + result.quarantined, result
            assert raw_rows[result.source_file] == result.loaded, result.source_file
            data_lines = sum(1 for line in (landing / result.source_file).read_bytes().splitlines() if line.strip())
            entity = next(
                e
                for s in _simulated_sources()
                for e in s.entities
                if e.name == result.entity and s.name == result.source
            )
            assert result.lines == data_lines - (1 if entity.format == "csv" and entity.has_header else 0)


def test_dirty_records_are_quarantined_with_the_right_reason_and_nothing_else(client, world, first_ingestion):
    _, truth = world
    assert _quarantine_rows(client) == {t for t in truth if t[2] in QUARANTINE_REASONS}
    results = [r for day_results in first_ingestion.values() for r in day_results]
    handled = Counter(code for _, _, code in truth)
    assert sum(r.duplicates for r in results) == handled["duplicate_record"]
    assert sum(r.late_rows for r in results) == handled["late_event"]
    assert sum(r.drift_rows for r in results) == handled["schema_drift"]
    assert {r.source_file for r in results if r.status == "duplicate_file"} == {
        file for file, _, code in truth if code == "duplicate_file"
    }
    assert not [r for r in results if r.status == "unmatched"]


def test_ingesting_the_same_days_again_changes_no_counts(client, world, first_ingestion):
    landing, _ = world
    before = {day: _raw_rows_per_file(client, day) for day in DAYS}
    quarantine_before = _quarantine_rows(client)

    again = _ingest_all_days(client, landing)

    assert {r.status for results in again.values() for r in results} <= {"skipped", "duplicate_file"}
    assert {day: _raw_rows_per_file(client, day) for day in DAYS} == before
    assert _quarantine_rows(client) == quarantine_before
