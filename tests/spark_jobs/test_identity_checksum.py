"""Guard for the identity job's speed work (issue 14): on a night where every rule has work (merges, splits, a hub
cut, a blocklisted id, a component left unmerged), the job's four outputs stay exactly the ones pinned here,
computed with the job as it was before its plan was reshaped."""

from __future__ import annotations

from collections import Counter

from bench import frame_checksum
from bench.synthetic.identity_graph import RULES, identity_night
from spark_jobs.identity import JobPaths, run_job

PERSON_LINKS = 6_000
RUN_DATE = "2026-11-20"
# output -> "<rows>:<sum of xxhash64 of every column>" (bench.frame_checksum)
PINNED = {
    "identity_map": "14155:865068437349891333330",
    "merges": "40:-294612092287833247",
    "splits": "195:-100632645410244766398",
    "blocked": "4672:197551792998636161770",
}


def test_identity_outputs_are_unchanged_on_a_night_that_exercises_every_rule(spark, tmp_path):
    night = identity_night(spark, PERSON_LINKS, str(tmp_path / "inputs"))
    paths = JobPaths(night.nodes, night.edges, night.previous, str(tmp_path / "output"))
    written = run_job(spark, paths, RULES, night.max_issued_one_id, RUN_DATE, edge_count=night.links)
    outputs = {name: spark.read.parquet(path) for name, path in written.items()}

    reasons = Counter(row.reason for row in outputs["blocked"].select("reason").collect())
    assert set(reasons) == {"hub", "blocklist", "oversize_component"}, reasons
    assert outputs["merges"].count() > 0 and outputs["splits"].count() > 0
    assert {name: frame_checksum(frame) for name, frame in outputs.items()} == PINNED
