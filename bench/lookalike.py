"""Lookalike evaluation on the simulated world: seed with half of a population the generator planted, expand, and
see how much of the hidden half comes back (precision at N and lift over chance).

    python -m bench.lookalike                  # 20,000 generated people, one day
    python -m bench.lookalike --users 100000

The planted population: the most engaged tenth of the generated people (`nightshift.generate.population`:
`activity`, a rate drawn per person and hidden from every source). Nothing in the warehouse names them; they show
only through what they do more of (sessions, orders, follows...). They are found in the truth (the world is
rebuilt from `_truth/world.json`), mapped to one_ids through `_truth/identities.csv` and the identity map, and split
in two by one_id: the even half is the seed segment, the odd half is hidden. `nightshift segment expand` to as
many people as are hidden then scores everyone else by the seed's per-tag lift (`nightshift.segments.lookalike`).

precision@N = hidden people among the N lookalikes / N (N = hidden people); chance = hidden people / everyone
outside the seed; lift = precision / chance. The world runs in a fresh installation: generate, ingest, then the
nightly stages up to the tag marts (identity, build). `tests/segments/test_lookalike.py` asserts the same on the
tests' shared 1,000-person world.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import machine_description

WORLD_DATE = date(2026, 11, 20)
PLANTED_SHARE = 0.10


@dataclass
class LookalikeEvaluation:
    planted: int  # one_ids of the planted population found in the warehouse
    seed: int
    hidden: int
    people: int
    recovered: int  # hidden people among the N = hidden lookalikes

    @property
    def precision(self) -> float:
        return self.recovered / self.hidden if self.hidden else 0.0

    @property
    def chance(self) -> float:
        outside = self.people - self.seed
        return self.hidden / outside if outside else 0.0

    @property
    def lift(self) -> float:
        return self.precision / self.chance if self.chance else 0.0


def planted_one_ids(client, landing: Path) -> list[int]:
    """One_ids of the most engaged tenth of the world's people (each person's most frequent one_id)."""
    import numpy as np
    import pandas as pd

    from nightshift.generate.responder.people import load_world

    population = load_world(landing)
    if population is None:
        raise FileNotFoundError(f"{landing}/_truth/world.json is missing: generate a world first (nightshift generate)")
    planted = np.flatnonzero(population.activity >= np.quantile(population.activity, 1 - PLANTED_SHARE))
    truth = pd.read_csv(
        landing / "_truth" / "identities.csv",
        dtype=str,
        keep_default_na=False,
        usecols=["person_id", "id_type", "id_value"],
    )
    truth = truth[~truth["person_id"].str.contains("-")]  # the human's main group of ids, not unlinked accounts
    truth["person"] = truth["person_id"].str[1:].astype(int)
    truth = truth[truth["person"].isin(planted)]
    identity_map = client.query_df("SELECT id_type, id_value, toInt64(one_id) AS one_id FROM identity.identity_map")
    matched = truth.merge(identity_map, on=["id_type", "id_value"])
    most_frequent = matched.groupby("person")["one_id"].agg(lambda ids: ids.value_counts().index[0])
    return sorted(set(int(one_id) for one_id in most_frequent))


def evaluate(client, landing: Path) -> LookalikeEvaluation:
    from nightshift.segments.files import SegmentFile
    from nightshift.segments.lookalike import expand_segment
    from nightshift.segments.schema import marts_schema
    from nightshift.segments.validate import validate_segment

    planted = planted_one_ids(client, landing)
    seed = [one_id for one_id in planted if one_id % 2 == 0]
    hidden = set(planted) - set(seed)
    sql = f"SELECT one_id FROM marts.user_profile WHERE one_id IN ({', '.join(map(str, seed)) or 'NULL'})"
    definition = validate_segment(SegmentFile("planted_seed", Path("planted_seed.sql"), sql, 1), marts_schema(client))
    expansion = expand_segment(client, definition, len(hidden))
    found = {lookalike.one_id for lookalike in expansion.lookalikes}
    return LookalikeEvaluation(len(planted), expansion.seed_size, len(hidden), expansion.people, len(found & hidden))


def main(argv: list[str] | None = None) -> None:
    import subprocess
    import sys

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--home", type=Path, default=None, help="installation directory (default: temporary)")
    args = parser.parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="nightshift-bench-lookalike-"))
    os.environ["NIGHTSHIFT_HOME"] = str(home)
    day = WORLD_DATE.isoformat()
    started = time.perf_counter()
    for command in (
        ["generate", "--users", str(args.users), "--days", "1", "--start-date", day, "--seed", "7"],
        ["ingest", "--date", day],
        ["run", "--date", day, "--stages", "identity,build"],
    ):
        subprocess.run([Path(sys.executable).with_name("nightshift"), *command], check=True, stdout=subprocess.DEVNULL)
    built = time.perf_counter() - started

    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client

    settings = get_settings()
    started = time.perf_counter()
    result = evaluate(get_client(settings), settings.landing_dir)
    seconds = time.perf_counter() - started
    print(f"world: {args.users:,} generated people, built in {built:.0f} s ({machine_description()})")
    print(f"planted (most engaged tenth): {result.planted:,} one_ids; seed {result.seed:,}, hidden {result.hidden:,}")
    print(
        f"lookalikes: N = {result.hidden:,} of {result.people - result.seed:,} people outside the seed, {seconds:.1f} s"
    )
    print(f"precision@N {result.precision:.3f}  chance {result.chance:.3f}  lift {result.lift:.2f}")


if __name__ == "__main__":
    main()
