"""Segment preview benchmark: a 5-condition tag combination over tag bitmaps vs a GROUP BY over the long table.

The synthetic marts have the real profile columns and tag vocabularies (`bench.synthetic.segment_marts`).

    python -m bench.segments --people 10000000

Builds synthetic marts (user_profile, user_tags, tag_bitmaps) in a fresh installation (temporary NIGHTSHIFT_HOME
unless one is set; an installation that already has them at this size reuses them), checks that every method finds
the same people, and prints median latencies, including a whole `segment preview` (size, share, sample, tag mix and
the overlap with every shipped segment) without, building, and with the bitmap cache. It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

DATABASE = "bench_marts"
FIVE_CONDITIONS = (
    "SELECT one_id FROM marts.user_profile WHERE rfm_segment IN ('champion', 'loyal') "
    "AND device_os = 'ios' AND NOT (gender = 'unknown') AND lifecycle_stage IN ('active', 'reactivated') "
    "AND can_receive_app_push = 1"
)
# The same people found the naive way: one row per (person, tag) in the long table, grouped per person.
GROUP_BY = f"""
SELECT count() FROM (
    SELECT one_id FROM {DATABASE}.user_tags
    WHERE tag_code IN ('rfm_segment', 'device_os', 'gender', 'lifecycle_stage', 'can_receive_app_push')
    GROUP BY one_id
    HAVING countIf(tag_code = 'rfm_segment' AND tag_value IN ('champion', 'loyal')) > 0
       AND countIf(tag_code = 'device_os' AND tag_value = 'ios') > 0
       AND countIf(tag_code = 'gender' AND tag_value != 'unknown') > 0
       AND countIf(tag_code = 'lifecycle_stage' AND tag_value IN ('active', 'reactivated')) > 0
       AND countIf(tag_code = 'can_receive_app_push' AND tag_value = 'true') > 0
)
"""
REPEATS = 5


def _median_ms(run, repeats: int = REPEATS) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), result


def bench_segment_preview(people: int) -> dict[str, float]:
    """Print (and return) preview latencies at `people` synthetic people."""
    os.environ.setdefault("NIGHTSHIFT_HOME", tempfile.mkdtemp(prefix="nightshift-bench-segments-"))
    from bench.synthetic.segment_marts import create_synthetic_marts
    from nightshift.segments.bitmaps import bitmap_expression
    from nightshift.segments.files import SEGMENTS_DIR
    from nightshift.segments.inspect import preview_segment
    from nightshift.segments.schema import tag_codes
    from nightshift.segments.validate import validate_all
    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client

    client = get_client(get_settings())
    started = time.perf_counter()
    existing = client.query(
        f"SELECT count() FROM system.tables WHERE database = '{DATABASE}' AND name = 'tag_bitmaps'"
    ).result_rows[0][0]
    if not existing or client.query(f"SELECT count() FROM {DATABASE}.user_profile").result_rows[0][0] != people:
        create_synthetic_marts(client, DATABASE, people)  # reused when this installation already has them
    build_seconds = time.perf_counter() - started

    directory = Path(tempfile.mkdtemp(prefix="bench-segments-"))
    for path in SEGMENTS_DIR.glob("*.sql"):
        (directory / path.name).write_text(path.read_text())
    (directory / "five_conditions.sql").write_text(
        f"-- name: five_conditions\n-- owner: bench\n-- description: 5 tag conditions\n{FIVE_CONDITIONS}\n"
    )
    definitions = validate_all(directory, client, DATABASE).valid
    target = next(d for d in definitions if d.name == "five_conditions")
    bitmap = bitmap_expression(target, tag_codes(client, DATABASE), DATABASE)
    assert bitmap is not None, "the 5-condition segment should compile to bitmaps"

    bitmap_ms, bitmap_count = _median_ms(lambda: client.query(f"SELECT bitmapCardinality({bitmap})").result_rows[0][0])
    group_ms, group_count = _median_ms(lambda: client.query(GROUP_BY).result_rows[0][0], repeats=3)
    wide_ms, wide_count = _median_ms(
        lambda: client.query(f"SELECT count() FROM ({FIVE_CONDITIONS.replace('marts.', DATABASE + '.')})").result_rows[
            0
        ][0]
    )

    def preview(use_cache: bool):
        return preview_segment(client, "five_conditions", definitions, DATABASE, use_cache=use_cache)

    uncached_ms, preview_result = _median_ms(lambda: preview(False), 1)
    client.command("TRUNCATE TABLE IF EXISTS ops.segment_bitmap_cache")
    cold_ms, _ = _median_ms(lambda: preview(True), 1)
    warm_ms, _ = _median_ms(lambda: preview(True), 3)
    others = len(definitions) - 1
    figures = {
        "people": people,
        "build marts (s)" if not existing else "marts reused (s)": round(build_seconds, 2),
        "bitmap 5-condition count (ms)": round(bitmap_ms, 1),
        "GROUP BY over user_tags (ms)": round(group_ms, 1),
        "WHERE over wide user_profile (ms)": round(wide_ms, 1),
        f"preview + {others} overlaps, no cache (ms)": round(uncached_ms, 1),
        f"preview + {others} overlaps, building cache (ms)": round(cold_ms, 1),
        f"preview + {others} overlaps, cache warm (ms)": round(warm_ms, 1),
    }
    if not bitmap_count == group_count == wide_count == preview_result.size:
        raise AssertionError(f"methods disagree: {bitmap_count=} {group_count=} {wide_count=} {preview_result.size=}")
    for name, value in figures.items():
        print(f"{name:<45} {value:>12,}")
    print(f"{'members':<45} {bitmap_count:>12,}")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    bench_segment_preview(parser.parse_args(argv).people)


if __name__ == "__main__":
    main()
