"""Deterministic samples: the same people every night for the same salt, stable as the segment grows, nested
across sizes, and the same hash in ClickHouse, Spark (tests/spark_jobs/test_pilot_sample.py) and Python."""

from __future__ import annotations

import hashlib

import pytest

from nightshift.segments.files import SegmentError, parse_segment_file
from nightshift.segments.rules import parse_rule_file
from nightshift.segments.sampling import Sample, parse_sample, sampled_sql


def python_hash(salt: str, one_id: int) -> str:
    return hashlib.md5(f"{salt}:{one_id}".encode()).hexdigest()


def expected_sample(members: set[int], sample: Sample) -> set[int]:
    """The sample by its documented definition, computed in Python."""
    if sample.percent is not None:
        return {m for m in members if python_hash(sample.salt, m)[:8] < sample.threshold}
    return set(sorted(members, key=lambda m: (python_hash(sample.salt, m), m))[: sample.size])


def clickhouse_sample(client, members_sql: str, sample: Sample) -> set[int]:
    return {int(one_id) for (one_id,) in client.query(sampled_sql(members_sql, sample)).result_rows}


def people(first: int, last: int) -> str:
    return f"SELECT toUInt64(number) AS one_id FROM numbers({first}, {last - first + 1})"


@pytest.mark.parametrize(
    ("text", "size", "percent"), [("10%", None, 10.0), ("12.5 %", None, 12.5), ("1000", 1000, None)]
)
def test_sample_text(text, size, percent):
    sample = parse_sample(text, "salt")
    assert (sample.size, sample.percent) == (size, percent)


BAD_SAMPLES = [("ten", "neither"), ("0%", "between 0 and 100"), ("150%", "between 0 and 100"), ("0", "empty"),
               ("2.5", "whole")]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_SAMPLES)
def test_bad_sample_text_says_what_is_allowed(text, message):
    with pytest.raises(ValueError, match=message):
        parse_sample(text, "salt")


def test_percent_sample_keeps_everyone_who_stays_across_nights_and_growth(client):
    sample = Sample("pilot", percent=10)
    night_1 = clickhouse_sample(client, people(1, 5_000), sample)
    night_2 = clickhouse_sample(client, people(2_001, 12_000), sample)  # 2,000 left, 7,000 joined
    assert night_1 == expected_sample(set(range(1, 5_001)), sample)
    assert night_2 == expected_sample(set(range(2_001, 12_001)), sample)
    stayed = set(range(2_001, 5_001))
    assert night_1 & stayed == night_2 & stayed  # nobody who stayed entered or left the sample
    assert 0.08 < len(night_2) / 10_000 < 0.12
    assert clickhouse_sample(client, people(1, 5_000), Sample("other", percent=10)) != night_1  # the salt matters


def test_sized_sample_is_stable_when_the_segment_grows_and_nested_across_sizes(client):
    small, large = Sample("pilot", size=300), Sample("pilot", size=600)
    before = clickhouse_sample(client, people(1, 5_000), small)
    after = clickhouse_sample(client, people(1, 8_000), small)  # the segment grew by 3,000
    assert len(before) == len(after) == 300 and before == expected_sample(set(range(1, 5_001)), small)
    assert after & set(range(1, 5_001)) <= before  # old members only leave when a newcomer hashes lower
    assert len(after & before) > 300 * 5_000 / 8_000 * 0.8  # most of the pilot stays (about 5/8 expected)
    assert before <= clickhouse_sample(client, people(1, 5_000), large)
    assert clickhouse_sample(client, people(1, 5_000), small) == before  # the next night: the same people


def test_sample_header_in_sql_and_rule_segments(tmp_path):
    sql = tmp_path / "pilot.sql"
    sql.write_text("-- name: pilot\n-- owner: t\n-- description: d\n-- sample: 5%\n-- sample_salt: spring\n"
                   "SELECT one_id FROM marts.user_profile\n")  # fmt: skip
    assert parse_segment_file(sql).sample == Sample("spring", percent=5.0)
    rule = tmp_path / "pilot_rule.yml"
    rule.write_text("name: pilot_rule\nowner: t\ndescription: d\nsample: 1000\nrule: {device_os: ios}\n")
    assert parse_rule_file(rule).sample == Sample("pilot_rule", size=1000)  # salted with the name by default
    rule.write_text("name: pilot_rule\nowner: t\ndescription: d\nsample: lots\nrule: {device_os: ios}\n")
    with pytest.raises(SegmentError, match="neither a number of people") as caught:
        parse_rule_file(rule)
    assert caught.value.line == 4
    sql.write_text("-- name: pilot\n-- owner: t\n-- description: d\n-- sample: 200%\nSELECT one_id FROM x\n")
    with pytest.raises(SegmentError, match="between 0 and 100") as caught:
        parse_segment_file(sql)
    assert caught.value.line == 4


def test_segment_files_run_their_sample(tmp_path):
    path = tmp_path / "pilot.sql"
    path.write_text(
        "-- name: pilot\n-- owner: t\n-- description: d\n-- sample: 10%\nSELECT one_id FROM marts.user_profile\n"
    )
    segment = parse_segment_file(path)
    assert segment.sql == "SELECT one_id FROM marts.user_profile"  # the analyst's text, for error positions
    assert segment.query_sql == sampled_sql(segment.sql, Sample("pilot", percent=10))  # what Spark's main() runs
