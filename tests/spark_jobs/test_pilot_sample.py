"""A plan's `sample:` (pilot runs): Spark keeps the same deterministic sample of the candidates as the segment
sampling in ClickHouse and Python would, stable across nights and as the candidates grow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bench.synthetic.campaign_world import DEFAULT_POLICY, plan
from nightshift.campaigns.models import PilotSample
from nightshift.segments.sampling import Sample, hash_sql
from spark_jobs.audience import campaign_frame, candidates
from tests.segments.test_sampling import expected_sample, python_hash


def test_plan_samples_match_the_documented_hash_and_stay_stable(spark):
    # night 1: segment s1 = people 1..1000; night 2: the segment doubled (s2 = 1..2000); one Spark run for both
    night_1, night_2 = set(range(1, 1_001)), set(range(1, 2_001))
    members = [("s1", one_id) for one_id in night_1] + [("s2", one_id) for one_id in night_2]
    plans = [
        plan(id=f"{name}_{night}", include_segments=[f"s{night}"], sample=sample)
        for night in (1, 2)
        for name, sample in (("everyone", None), ("tenth", {"percent": 10, "salt": "t"}), ("pilot", {"size": 50}))
    ]
    membership = spark.createDataFrame(members, "segment string, one_id long")
    sampled: dict[str, set[int]] = {p.id: set() for p in plans}
    for row in candidates(membership, campaign_frame(spark, plans, DEFAULT_POLICY)).collect():
        sampled[row.campaign_id].add(row.one_id)
    assert sampled["everyone_1"] == night_1
    assert sampled["tenth_1"] == expected_sample(night_1, Sample("t", percent=10))
    assert sampled["pilot_1"] == expected_sample(night_1, Sample("pilot_1", size=50))  # salt: the campaign id
    assert sampled["tenth_2"] & night_1 == sampled["tenth_1"]  # stable as the segment grows
    pilot_2 = expected_sample(night_2, Sample("pilot_1", size=50))  # what night 2 gives with night 1's salt
    assert len(pilot_2) == 50 and pilot_2 & night_1 <= sampled["pilot_1"]


def test_spark_clickhouse_and_python_hash_alike(spark, client):
    salt, ids = "pilot:2026", [0, 7, 4_294_967_295]
    (clickhouse,) = client.query(
        f"SELECT groupArray({hash_sql(salt, 'toUInt64(n)')}) FROM (SELECT arrayJoin({ids}) AS n)"
    ).result_rows[0]
    values = ", ".join(f"({one_id})" for one_id in ids)
    spark_sql = f"SELECT md5(concat('{salt}', ':', CAST(n AS STRING))) AS h FROM VALUES {values} AS t(n)"
    spark_hashes = [row.h for row in spark.sql(spark_sql).collect()]
    assert list(clickhouse) == spark_hashes == [python_hash(salt, one_id) for one_id in ids]


def test_plan_sample_needs_one_amount():
    with pytest.raises(ValidationError, match="either `size`"):
        PilotSample(size=10, percent=5)
    with pytest.raises(ValidationError):
        plan(sample={"percent": 0})
