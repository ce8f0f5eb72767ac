"""Lookalike expansion: from a seed segment, the people outside it who look most like it on the tag profile.

The method is per-tag-value lift, scored like naive Bayes and explainable tag by tag:

1. For every tag value with a bitmap (`marts.tag_bitmaps`), count its people inside the seed and outside it.
2. Its weight is the log of how much more common it is in the seed than in the rest, smoothed by one person on
   each side: `w = ln((in_seed + 1) / (seed + 2)) - ln((outside + 1) / (rest + 2))`. Values held by fewer than
   MIN_SUPPORT seed members get no weight (too few to say anything).
3. A person's score is the sum of the weights of their tag values (`marts.user_tags`); the top N people outside
   the seed (ties by one_id) are the expansion, each with the tag values that added most to their score.

Everything runs in ClickHouse over bitmaps and the long tag table: one read of the tag bitmaps, one GROUP BY.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlglot import exp

from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, plan_segment
from nightshift.segments.schema import MARTS, tag_codes
from nightshift.segments.sql import DIALECT
from nightshift.segments.validate import SegmentDefinition

MIN_SUPPORT = 5
DRIVERS_SHOWN = 3


@dataclass(frozen=True)
class TagWeight:
    tag_code: str
    tag_value: str
    in_seed: int
    outside: int
    weight: float  # ln of the smoothed lift of the seed over the rest


@dataclass(frozen=True)
class Lookalike:
    one_id: int
    score: float
    drivers: list[tuple[str, float]] = field(default_factory=list)  # ("tag=value", weight), largest first


@dataclass
class Expansion:
    seed: str
    seed_size: int
    people: int
    weights: list[TagWeight]
    lookalikes: list[Lookalike]


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql(DIALECT)


def tag_weights(client, seed_bitmap: str, database: str = MARTS) -> tuple[int, int, list[TagWeight]]:
    """(seed size, people, the weight of every tag value with enough seed support), largest weight first."""
    rows = client.query(
        f"WITH {seed_bitmap} AS seed SELECT bitmapCardinality(seed), (SELECT count() FROM `{database}`.user_profile), "
        f"groupArray((tag_code, tag_value, bitmapAndCardinality(bitmap, seed), bitmapCardinality(bitmap))) "
        f"FROM `{database}`.tag_bitmaps",
        settings=CLICKHOUSE_SEGMENT_SETTINGS,
    ).result_rows[0]
    seed_size, people, values = int(rows[0]), int(rows[1]), rows[2]
    rest = people - seed_size
    weights = []
    for code, value, in_seed, total in values:
        in_seed, outside = int(in_seed), int(total) - int(in_seed)
        if in_seed < MIN_SUPPORT:
            continue
        weight = math.log((in_seed + 1) / (seed_size + 2)) - math.log((outside + 1) / (rest + 2))
        weights.append(TagWeight(code, value, in_seed, outside, weight))
    return seed_size, people, sorted(weights, key=lambda w: (-w.weight, w.tag_code, w.tag_value))


def expand_segment(client, definition: SegmentDefinition, size: int, database: str = MARTS) -> Expansion:
    """The `size` people outside the seed segment with the highest lookalike scores."""
    plan = plan_segment(definition, tag_codes(client, database), database)
    seed_bitmap = plan.bitmap(database)
    seed_size, people, weights = tag_weights(client, seed_bitmap, database)
    if not weights:
        return Expansion(definition.name, seed_size, people, [], [])
    items = ", ".join(f"({_literal(w.tag_code)}, {_literal(w.tag_value)}, {w.weight!r})" for w in weights)
    weight_table = (
        "SELECT item.1 AS tag_code, item.2 AS tag_value, toFloat64(item.3) AS weight "
        f"FROM (SELECT arrayJoin([{items}]) AS item)"
    )
    contributions = "groupArray((concat(t.tag_code, '=', t.tag_value), w.weight))"
    drivers = f"arraySlice(arraySort(d -> -d.2, {contributions}), 1, {DRIVERS_SHOWN})"
    rows = client.query(
        f"WITH {seed_bitmap} AS seed "
        f"SELECT t.one_id, sum(w.weight) AS score, {drivers} "
        f"FROM `{database}`.user_tags AS t "
        f"INNER JOIN ({weight_table}) AS w ON w.tag_code = t.tag_code AND w.tag_value = t.tag_value "
        "WHERE NOT bitmapContains(seed, toUInt32(t.one_id)) "
        f"GROUP BY t.one_id ORDER BY score DESC, t.one_id LIMIT {int(size)}",
        settings=CLICKHOUSE_SEGMENT_SETTINGS,
    ).result_rows
    lookalikes = [
        Lookalike(int(one_id), float(score), [(str(tag), float(weight)) for tag, weight in drivers])
        for one_id, score, drivers in rows
    ]
    return Expansion(definition.name, seed_size, people, weights, lookalikes)
