"""Identity resolution over a small generated world, scored against the generator's ground truth.

Runs generate -> ingest -> identity for three consecutive days in a subprocess with its own installation (the embedded
warehouse allows one directory per process, and a generated world must not mix with other tests' data).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, isolated_env

WORLD_USERS = 2000


@pytest.mark.slow
def test_identity_map_matches_ground_truth_and_one_ids_stay_stable_over_three_days(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "bench.identity_world", "--users", str(WORLD_USERS), "--days", "3"],
        env=isolated_env(tmp_path / "home"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, f"world check failed:\n{completed.stderr[-4000:]}"
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["precision"] >= 0.99, report["evaluation"]
    assert report["recall"] >= 0.99, report["evaluation"]
    assert report["human_recall"] >= 0.99, report["evaluation"]  # against the humans, unlinkable accounts too
    # Day to day: people gain ids (leads, phone authorisations) and merge; no one_id changes without a record.
    stability = report["stability"]
    assert len(stability) == 2, stability
    assert all(day["unexplained_changes"] == 0 for day in stability.values()), stability
    assert all(day["ids_with_new_one_id"] < 0.01 * day["ids_on_both_days"] for day in stability.values()), stability
    assert sum(day["merges"] for day in stability.values()) > 0, stability
