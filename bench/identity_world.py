"""End-to-end quality check: generate a world, ingest it day by day, resolve identities, score against truth.

    NIGHTSHIFT_HOME=/tmp/idcheck python -m bench.identity_world --users 10000 --days 2

Runs in the installation NIGHTSHIFT_HOME points at (use a scratch one: it writes landing files and tables)
and prints one JSON object: precision, recall, counts, day-to-day stability and stage timings.

Stability, for each day after the first: ids mapped on both days whose one_id changed, and how many of those
changes the day's `identity.identity_merges` (absorbed -> surviving one_id) or `identity.identity_splits` explain.
A stable resolver changes nobody's one_id without recording why.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta

from bench.identity_evaluate import evaluate_warehouse
from nightshift.settings import get_settings

DEFAULT_START = date(2026, 11, 18)

STABILITY_SQL = """
WITH
    before AS (SELECT id_type, id_value, one_id FROM identity.identity_map_daily WHERE run_date = {previous:Date}),
    after AS (SELECT id_type, id_value, one_id FROM identity.identity_map_daily WHERE run_date = {day:Date}),
    changed AS (
        SELECT before.one_id AS old_one_id, after.one_id AS new_one_id
        FROM before INNER JOIN after USING (id_type, id_value)
        WHERE before.one_id != after.one_id
    ),
    explained AS (
        SELECT merged_one_id AS old_one_id, surviving_one_id AS new_one_id
        FROM identity.identity_merges WHERE run_date = {day:Date}
        UNION ALL
        SELECT original_one_id, new_one_id FROM identity.identity_splits WHERE run_date = {day:Date}
    )
SELECT
    (SELECT count() FROM before INNER JOIN after USING (id_type, id_value)) AS ids_on_both_days,
    count() AS ids_with_new_one_id,
    countIf((old_one_id, new_one_id) NOT IN (SELECT old_one_id, new_one_id FROM explained)) AS unexplained,
    (SELECT count() FROM identity.identity_merges WHERE run_date = {day:Date}) AS merges
FROM changed
"""


def day_to_day_stability(client, previous: date, day: date) -> dict:
    """How the one_ids of ids known on `previous` fared on `day` (see the module docstring)."""
    row = client.query(STABILITY_SQL, parameters={"previous": previous, "day": day}).result_rows[0]
    return dict(zip(("ids_on_both_days", "ids_with_new_one_id", "unexplained_changes", "merges"), row, strict=True))


def check_world(users: int, days: int, seed: int = 42, start_date: date = DEFAULT_START) -> dict:
    from nightshift.generate import generate_world
    from nightshift.ingest.day import ingest_day
    from nightshift.stages import identity as identity_stage
    from nightshift.stages.context import StageContext

    settings = get_settings()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    generate_world(settings.landing_dir, users=users, start_date=start_date, days=days, seed=seed, progress=False)
    timings["generate_s"] = time.perf_counter() - clock

    ctx = None
    stability: dict[str, dict] = {}
    for offset in range(days):
        run_date = start_date + timedelta(days=offset)
        ctx = StageContext(run_date=run_date, settings=settings, _client=ctx.client if ctx else None)
        clock = time.perf_counter()
        ingest_day(run_date, None, settings, client=ctx.client)
        timings[f"ingest_{run_date}_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        result = identity_stage.run(ctx)
        timings[f"identity_{run_date}_s"] = time.perf_counter() - clock
        if offset:
            stability[str(run_date)] = day_to_day_stability(ctx.client, run_date - timedelta(days=1), run_date)
    from nightshift.lake import dataset_path

    edges = dataset_path(settings.lake_root, "identity_edges", run_date)
    scores = evaluate_warehouse(ctx.client, settings.landing_dir / "_truth" / "identities.csv", edges)
    return {
        "users": users,
        "days": days,
        "precision": scores.precision,
        "recall": scores.recall,
        "linkable_recall": scores.linkable_recall,
        "human_recall": scores.human_recall,
        "evaluation": scores.describe(),
        "identity_summary": result.summary,
        "stability": stability,
        **{key: round(value, 1) for key, value in timings.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    print(json.dumps(check_world(args.users, args.days, args.seed)))


if __name__ == "__main__":
    main()
