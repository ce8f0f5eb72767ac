"""Tag bitmap benchmark: synthetic marts.user_tags at a chosen scale, then time the dbt build of tag_bitmaps.

    python -m bench.tags                          # 1M and 10M people, 20 tags each, temporary installation
    python -m bench.tags --people 1000000 --home /tmp/bench-tags

Per scale: rows of the long tag table and how long generating it took; the tag_bitmaps model's execution time
as dbt reports it (run_results.json, so dbt's parse time is not counted) with rows/s of user_tags consumed;
the whole `dbt run` wall time; and a 5-condition AND/OR/NOT segment over the bitmaps vs the same segment as a
GROUP BY over user_tags. Runs in a throwaway installation (one per process: the embedded engine opens one
warehouse directory per process, so every scale reuses it and replaces the tables).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import quiet_dbt

console = Console()
BENCH_DATE = date(2026, 11, 21)
DEFAULT_SCALES = (1_000_000, 10_000_000)
CATALOGUE = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "tag_catalogue.csv"
# 20 tags per person, as in the engine measurements of /work/shared/NOTES.md: mostly bitmap-able ones
TAGS_PER_TYPE = {"enum": 8, "boolean": 6, "integer": 4, "decimal": 2}
SEGMENT = {  # ((a AND b) OR (c AND d)) AND NOT e, on the first bitmap-able tags' first values
    "combine": "bitmapAndnot(bitmapOr(bitmapAnd(a, b), bitmapAnd(c, d)), e)",
    "having": "(({a} AND {b}) OR ({c} AND {d})) AND NOT {e}",
}


@dataclass(frozen=True)
class SyntheticTag:
    code: str
    type: str
    values_sql: str  # SQL of the value for one person, from `one_id`
    first_value: str  # a value that exists, for the benchmark segment


def synthetic_tags() -> list[SyntheticTag]:
    """Tags of the real catalogue, with values spread deterministically over their allowed values."""
    with CATALOGUE.open(encoding="utf-8") as handle:
        catalogue = list(csv.DictReader(handle))
    wanted = dict(TAGS_PER_TYPE)
    tags = []
    for salt, row in enumerate(catalogue):
        kind, allowed = row["type"], row["allowed_values"]
        if wanted.get(kind, 0) == 0:
            continue
        hashed = f"cityHash64(one_id, {salt})"
        if kind in ("enum", "boolean"):
            values = allowed.split("|")
            literal = "[" + ", ".join(f"'{value}'" for value in values) + "]"
            tags.append(SyntheticTag(row["code"], kind, f"{literal}[{hashed} % {len(values)} + 1]", values[0]))
        elif kind == "integer" and allowed.count("..") == 1 and allowed.split("..")[1]:
            low, high = (int(bound) for bound in allowed.split(".."))
            tags.append(SyntheticTag(row["code"], kind, f"toString({low} + {hashed} % {high - low + 1})", str(low)))
        elif kind in ("integer", "decimal"):  # open-ended numbers: no bitmap, but part of the long table
            tags.append(SyntheticTag(row["code"], kind, f"toString({hashed} % 100000 / 100)", "0"))
        else:
            continue
        wanted[kind] -= 1
    return tags


def _generate_user_tags(client, people: int, tags: list[SyntheticTag]) -> int:
    client.command("DROP TABLE IF EXISTS marts.user_tags")
    client.command(
        "CREATE TABLE marts.user_tags (one_id UInt64, tag_code LowCardinality(String), tag_value String, "
        "computed_date Date) ENGINE = MergeTree PARTITION BY computed_date ORDER BY (tag_code, one_id)"
    )
    pairs = ", ".join(f"('{tag.code}', {tag.values_sql})" for tag in tags)
    client.command(
        f"INSERT INTO marts.user_tags SELECT one_id, tag.1, tag.2, toDate('{BENCH_DATE.isoformat()}') "
        f"FROM (SELECT number + 1 AS one_id FROM numbers({people})) ARRAY JOIN [{pairs}] AS tag",
        settings={"max_insert_threads": 2},
    )
    return int(client.query("SELECT count() FROM marts.user_tags").result_rows[0][0])


def _timed_query(client, sql: str) -> tuple[float, object]:
    started = time.perf_counter()
    value = client.query(sql).result_rows[0][0]
    return time.perf_counter() - started, value


def _segment_seconds(client, tags: list[SyntheticTag]) -> tuple[float, float, int]:
    """The same 5-condition segment over tag_bitmaps (one query combining rows) and over user_tags."""
    chosen = [tag for tag in tags if tag.type in ("enum", "boolean")][:5]
    names = "abcde"
    states = ", ".join(
        f"groupBitmapMergeStateIf(bitmap, tag_code = '{tag.code}' AND tag_value = '{tag.first_value}') AS {name}"
        for name, tag in zip(names, chosen, strict=True)
    )
    codes = ", ".join(f"'{tag.code}'" for tag in chosen)
    bitmap_seconds, bitmap_people = _timed_query(
        client,
        f"SELECT bitmapCardinality({SEGMENT['combine']}) "
        f"FROM (SELECT {states} FROM marts.tag_bitmaps WHERE tag_code IN ({codes}))",
    )
    having = SEGMENT["having"].format(
        **{
            name: f"countIf(tag_code = '{tag.code}' AND tag_value = '{tag.first_value}') > 0"
            for name, tag in zip(names, chosen, strict=True)
        }
    )
    scan_seconds, scan_people = _timed_query(
        client,
        f"SELECT count() FROM (SELECT one_id FROM marts.user_tags WHERE tag_code IN ({codes}) "
        f"GROUP BY one_id HAVING {having})",
    )
    if bitmap_people != scan_people:
        raise AssertionError(f"segment over bitmaps found {bitmap_people} people, over user_tags {scan_people}")
    return bitmap_seconds, scan_seconds, int(bitmap_people)


def bench_tag_build(people: int, home: Path | None = None) -> dict[str, float]:
    """Generate `people` x 20 tags of user_tags in a throwaway installation and time building tag_bitmaps.

    `home` defaults to a new temporary directory; a process can only ever use one, so pass the same home for
    every scale you run in one process. Returns the figures it prints.
    """
    if home is not None or "NIGHTSHIFT_BENCH_TAGS_HOME" not in os.environ:
        os.environ["NIGHTSHIFT_BENCH_TAGS_HOME"] = str(home or tempfile.mkdtemp(prefix="nightshift-bench-tags-"))
    os.environ["NIGHTSHIFT_HOME"] = os.environ["NIGHTSHIFT_BENCH_TAGS_HOME"]
    os.environ.pop("NIGHTSHIFT_CLICKHOUSE_URL", None)
    from nightshift.dbt_runner import invoke_dbt
    from nightshift.settings import get_settings
    from nightshift.warehouse import ensure_databases, get_client

    settings = get_settings()
    client = get_client(settings)
    ensure_databases(client)
    tags = synthetic_tags()

    started = time.perf_counter()
    rows = _generate_user_tags(client, people, tags)
    generate_seconds = time.perf_counter() - started

    seed = invoke_dbt("seed", BENCH_DATE, settings, ["--select", "tag_catalogue"])
    if not seed.success:
        raise RuntimeError(seed.failure_report())
    started = time.perf_counter()
    run = invoke_dbt("run", BENCH_DATE, settings, ["--select", "tag_bitmaps"])
    dbt_wall_seconds = time.perf_counter() - started
    if not run.success:
        raise RuntimeError(run.failure_report())
    model_seconds = next(n.execution_seconds for n in run.nodes if n.name == "tag_bitmaps")
    bitmap_rows, bitmap_bytes = client.query(
        "SELECT total_rows, total_bytes FROM system.tables WHERE database = 'marts' AND name = 'tag_bitmaps'"
    ).result_rows[0]
    bitmap_seconds, scan_seconds, segment_people = _segment_seconds(client, tags)

    figures = {
        "people": people,
        "user_tags_rows": rows,
        "generate_s": generate_seconds,
        "tag_bitmaps_model_s": model_seconds,
        "rows_per_s": rows / model_seconds,
        "dbt_run_wall_s": dbt_wall_seconds,
        "tag_bitmaps_rows": int(bitmap_rows),
        "tag_bitmaps_mib": int(bitmap_bytes) / 2**20,
        "segment_bitmaps_s": bitmap_seconds,
        "segment_user_tags_s": scan_seconds,
        "segment_people": segment_people,
    }
    table = Table("figure", "value", title=f"tag_bitmaps build: {people:,} people x {len(tags)} tags")
    for name, value in figures.items():
        table.add_row(name, f"{value:,.3f}" if isinstance(value, float) else f"{value:,}")
    console.print(table)
    return figures


def main(argv: list[str] | None = None) -> None:
    quiet_dbt()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, nargs="+", default=list(DEFAULT_SCALES), help="scales to run")
    parser.add_argument("--home", type=Path, default=None, help="installation directory (default: temporary)")
    args = parser.parse_args(argv)
    for people in args.people:
        bench_tag_build(people, args.home)


if __name__ == "__main__":
    main()
