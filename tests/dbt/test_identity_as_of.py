"""Rebuilding an old date after a newer identity run reproduces that date's marts exactly.

dbt reads the identity map as of its run date (`stg_identity__identity_links`: the latest partition of
`identity.identity_map_daily` on or before `run_date`). This test proves it on a generated world, in its own
installation (a subprocess with its own NIGHTSHIFT_HOME):

1. generate two days; ingest day 1 and run identity and build for day 1; fingerprint what dbt built;
2. ingest day 2 and run identity for day 2, which must merge at least one person who is in day 1's
   `marts.user_profile` (otherwise a map read "as of now" would equal day 1's and the test would prove nothing);
3. build day 1 again and fingerprint again: everything must be unchanged.

What is compared (count of rows and the sum of a per-row hash over the columns): every relation dbt builds in
`staging`, `intermediate` and `marts`, views included (a view is evaluated, so the staging identity links are
checked directly, not only through the marts they feed). All of them depend only on the run date and on raw data
delivered up to it. `snapshots.user_tag_history` is compared too, without dbt's bookkeeping columns (dbt_scd_id,
dbt_updated_at, dbt_valid_from, dbt_valid_to): its content depends on which dates were built in which order, and
here the only date ever built is day 1 (twice), which the snapshot's run-date keyed `check` strategy turns into
no change.

The stages run in-process in one subprocess (`nightshift.pipeline.run`, what `nightshift run --date D --stages
...` calls), so Spark starts once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_python

DAY_1 = "2026-11-19"
DAY_2 = "2026-11-20"
# The smallest world `nightshift generate` makes; with this seed day 2 merges several people seen on day 1.
WORLD_USERS = 1000
WORLD_SEED = 7

FINGERPRINT_CODE = f"""
import json
import time
from nightshift.errors import NightshiftError
from nightshift.pipeline import run
from nightshift.warehouse import get_client

DAY_1, DAY_2 = {DAY_1!r}, {DAY_2!r}
BOOKKEEPING_COLUMNS = ('_ingested_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to')


def fingerprints(client):
    relations = client.query(
        "SELECT database, name FROM system.tables "
        "WHERE database IN ('staging', 'intermediate', 'marts', 'snapshots') ORDER BY database, name"
    ).result_rows
    prints = {{}}
    for database, name in relations:
        columns = [column for (column,) in client.query(
            "SELECT name FROM system.columns WHERE database = {{d:String}} AND table = {{t:String}} "
            "AND name NOT IN {{skip:Array(String)}} ORDER BY position",
            parameters={{"d": database, "t": name, "skip": list(BOOKKEEPING_COLUMNS)}},
        ).result_rows]
        hashed = ", ".join(f"`{{column}}`" for column in columns)
        # hash one tuple: cityHash64(a, b) is null when a column is, and sum() would skip that row
        count, digest = client.query(
            f"SELECT count(), sum(cityHash64(tuple({{hashed}}))) FROM `{{database}}`.`{{name}}`"
        ).result_rows[0]
        prints[f"{{database}}.{{name}}"] = [int(count), str(digest)]
    return prints


"""
SCENARIO_CODE = (
    FINGERPRINT_CODE
    + """
seconds = {}
clock = time.perf_counter()
run(DAY_1, ["ingest", "identity", "build"])
seconds["day_1"] = time.perf_counter() - clock
client = get_client()
before = fingerprints(client)

clock = time.perf_counter()
run(DAY_2, ["ingest", "identity"])
seconds["day_2"] = time.perf_counter() - clock
merges = client.query(
    "SELECT count() FROM identity.identity_merges WHERE run_date = {d:Date}", parameters={"d": DAY_2}
).result_rows[0][0]
merged_people_of_day_1 = client.query(
    "SELECT count() FROM marts.user_profile WHERE one_id IN "
    "(SELECT merged_one_id FROM identity.identity_merges WHERE run_date = {d:Date})",
    parameters={"d": DAY_2},
).result_rows[0][0]

clock = time.perf_counter()
try:
    run(DAY_1, ["build"])
    rebuild_error = None
except NightshiftError as error:  # reported by the test, with what changed
    rebuild_error = str(error)
seconds["day_1_rebuild"] = time.perf_counter() - clock
print("RESULT:" + json.dumps({
    "before": before, "merges": int(merges), "merged_people_of_day_1": int(merged_people_of_day_1),
    "rebuild_error": rebuild_error, "seconds": seconds,
}))
"""
)


@pytest.fixture(scope="module")
def rebuilt_day_1(tmp_path_factory) -> dict:
    home: Path = tmp_path_factory.mktemp("identity-as-of") / "home"
    run_cli(home, "generate", "--users", str(WORLD_USERS), "--days", "2", "--start-date", DAY_1,
            "--seed", str(WORLD_SEED))  # fmt: skip
    output = run_python(home, SCENARIO_CODE, timeout=900)
    result_line = next(line for line in output.splitlines() if line.startswith("RESULT:"))
    result = json.loads(result_line.removeprefix("RESULT:"))
    # The rebuilt relations are read by a fresh process, as any reader would. Read in the process that ran the
    # day-2 ingest and then dbt, the embedded engine returned no rows for one staging view (stg_benefits__grants)
    # whose definition and data were unchanged, while a new process read all 12: an engine quirk, seen December
    # 2026, still to be reported upstream.
    after = run_python(home, FINGERPRINT_CODE + '\nprint("RESULT:" + json.dumps(fingerprints(get_client())))')
    result["after"] = json.loads(next(line for line in after.splitlines() if line.startswith("RESULT:"))[7:])
    print("stage seconds:", result["seconds"])  # shown with -rP; the bulk of this module's time
    return result


@pytest.mark.slow
def test_day_2_merges_people_of_day_1(rebuilt_day_1: dict):
    # Without this the rebuild below could not tell a map "as of day 1" from the latest map.
    assert rebuilt_day_1["merges"] > 0
    assert rebuilt_day_1["merged_people_of_day_1"] > 0


@pytest.mark.slow
def test_rebuilding_day_1_after_day_2_identity_leaves_everything_unchanged(rebuilt_day_1: dict):
    before, after = rebuilt_day_1["before"], rebuilt_day_1["after"]
    assert before["marts.user_profile"][0] > 0 and before["staging.stg_identity__identity_links"][0] > 0
    assert sorted(after) == sorted(before), "the rebuild created or dropped relations"
    changed = {name: {"before": before[name], "after": after[name]} for name in before if after[name] != before[name]}
    assert rebuilt_day_1["rebuild_error"] is None and not changed, (
        f"rebuilding {DAY_1} after the {DAY_2} identity run changed {sorted(changed)}\n"
        f"{json.dumps(changed, indent=1)}\nbuild error: {rebuilt_day_1['rebuild_error']}"
    )
