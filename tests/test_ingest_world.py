"""Ingestion of a generated world agrees with the generator's ground truth, record by record."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

import pytest

from nightshift.ingest.engine import ingest_source_day
from nightshift.sources.catalog import QUARANTINE_REASONS, all_sources

WORLD_DAY = date(2026, 10, 5)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from nightshift.generate import generate_world

    landing = tmp_path_factory.mktemp("world-landing")
    generate_world(landing, users=1000, start_date=WORLD_DAY, days=1, seed=11, dirt_rate=0.02, progress=False)
    with (landing / "_truth" / "dirty_records.csv").open(newline="") as handle:
        truth = [(row["source_file"], int(row["line_number"]), row["reason_code"]) for row in csv.DictReader(handle)]
    return landing, truth


def test_generated_world_matches_ground_truth(client, world):
    landing, truth = world
    sources = [s for s in all_sources().values() if s.simulated]
    results = [r for s in sources for r in ingest_source_day(client, s, WORLD_DAY, landing)]

    for result in results:
        if result.status == "loaded":
            assert result.lines == result.loaded + result.duplicates + result.quarantined, result
    names = {s.name for s in sources}
    quarantined = {
        (file, line, code)
        for file, line, code in client.query(
            "SELECT source_file, line_number, reason_code FROM raw.quarantine WHERE _drop_date = {d:Date}",
            parameters={"d": WORLD_DAY},
        ).result_rows
        if file.split("/")[0] in names
    }
    assert quarantined == {t for t in truth if t[2] in QUARANTINE_REASONS}
    handled = Counter(code for _, _, code in truth)
    assert sum(r.duplicates for r in results) == handled["duplicate_record"]
    assert sum(r.late_rows for r in results) == handled["late_event"]
    assert sum(r.drift_rows for r in results) == handled["schema_drift"]
    assert {r.source_file for r in results if r.status == "duplicate_file"} == {
        file for file, _, code in truth if code == "duplicate_file"
    }
    assert not [r for r in results if r.status == "unmatched"]
