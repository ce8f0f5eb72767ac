"""Look at segments in ClickHouse: preview (size, share, overlaps, sample, tag mix), diff between runs, and
explain (which conditions held for one person).

Preview plans each segment (`bitmaps.py`: tag bitmaps, a condition on the profile, or its SQL) and answers with
two queries whatever the number of segments: one for size, share, every overlap and the sample, one for the tag
distribution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from sqlglot import exp

from nightshift.errors import NightshiftError
from nightshift.segments.bitmaps import (
    CLICKHOUSE_SEGMENT_SETTINGS,
    PROFILE,
    SegmentPlan,
    clickhouse_sql,
    in_database,
    plan_segment,
)
from nightshift.segments.cache import cached_plans
from nightshift.segments.files import closest
from nightshift.segments.schema import MARTS, TagValues, tag_codes
from nightshift.segments.sql import DIALECT
from nightshift.segments.validate import SegmentDefinition

MEMBERSHIP_TABLE = "audience.segment_membership"
# Tags shown in a preview's distribution when present in tag_bitmaps (else the first few tag codes).
KEY_TAGS = ("rfm_segment", "lifecycle_stage", "device_os", "gender", "coupon_sensitivity")
KEY_TAG_COUNT = 3


@dataclass
class Preview:
    segment: str
    method: str  # how the members were computed: tag bitmaps, profile scan or sql
    size: int
    people: int
    overlaps: dict[str, int]
    sample: list[int]
    tag_distribution: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def share(self) -> float:
        return self.size / self.people if self.people else 0.0


def find_definition(definitions: list[SegmentDefinition], name: str) -> SegmentDefinition:
    for definition in definitions:
        if definition.name == name:
            return definition
    guess = closest(name, {d.name for d in definitions})
    raise NightshiftError(
        f"segment {name!r} is not among the valid segments."
        + (f" Did you mean {guess!r}?" if guess else "")
        + " Run `nightshift segment validate` to see every segment and its errors."
    )


def preview_method(definition: SegmentDefinition, tags: TagValues, database: str) -> str:
    return plan_segment(definition, tags, database).method


def _key_tags(tags: TagValues, wanted: list[str] | None) -> list[str]:
    if wanted:
        return [tag for tag in wanted if tag in tags]
    present = [tag for tag in KEY_TAGS if tag in tags]
    return present or sorted(tags)[:KEY_TAG_COUNT]


def _figures_query(target: SegmentPlan, others: list[SegmentPlan], database: str, sample_size: int) -> str:
    """ONE query for people, size, sample and every overlap.

    Bitmap segments (tag combinations, other SQL) are bound once in WITH; plain profile segments become
    `countIf` conditions of a single profile scan, which is far cheaper than building their bitmaps. With no
    profile-scan segment involved, the query reads no profile rows but its count.
    """
    bound = [target] + [plan for plan in others if not plan.is_condition]
    aliases = {plan.name: f"segment_{index}" for index, plan in enumerate(bound)}
    bindings = ", ".join(f"{plan.expression} AS {aliases[plan.name]}" for plan in bound)
    with_clause = f"WITH {bindings} " if bindings else ""
    n = int(sample_size)
    if not target.is_condition and not any(plan.is_condition for plan in others):
        t = aliases[target.name]
        overlaps = ", ".join(f"bitmapAndCardinality({t}, {aliases[o.name]})" for o in others)
        return (
            f"{with_clause}SELECT (SELECT count() FROM `{database}`.{PROFILE}), bitmapCardinality({t}), "
            f"[{overlaps}], bitmapToArray(bitmapSubsetLimit({t}, 0, {n}))"
        )
    if not target.is_condition:
        # only the target's rows matter: filter on its bitmap, then count the plain segments' conditions
        t = aliases[target.name]
        overlaps = ", ".join(
            f"countIf({o.member_condition('')})" if o.is_condition else f"bitmapAndCardinality({t}, {aliases[o.name]})"
            for o in others
        )
        return (
            f"{with_clause}SELECT (SELECT count() FROM `{database}`.{PROFILE}), bitmapCardinality({t}), "
            f"[{overlaps}], bitmapToArray(bitmapSubsetLimit({t}, 0, {n})) "
            f"FROM `{database}`.{PROFILE} WHERE bitmapContains({t}, toUInt32(one_id))"
        )
    member = target.member_condition(aliases[target.name])
    overlaps = ", ".join(f"countIf({member} AND {o.member_condition(aliases.get(o.name, ''))})" for o in others)
    return (
        f"{with_clause}SELECT count(), countIf({member}), [{overlaps}], "
        f"groupArraySortedIf({n})(one_id, {member}) FROM `{database}`.{PROFILE}"
    )


def preview_segment(
    client,
    name: str,
    definitions: list[SegmentDefinition],
    database: str = MARTS,
    sample_size: int = 10,
    key_tags: list[str] | None = None,
    use_cache: bool = True,
    extra_plans: list[SegmentPlan] | None = None,
) -> Preview:
    """Size, share of all people, overlap with every other valid segment, a sample and the key tag mix.

    With `use_cache`, bitmaps of segments that need a scan are kept in `ops.segment_bitmap_cache` (see cache.py).
    `extra_plans`: members computed elsewhere (an uploaded list's bitmap), previewed and overlapped like segments.
    """
    started = time.perf_counter()
    extra = list(extra_plans or [])
    if name not in {plan.name for plan in extra}:
        find_definition(definitions, name)
    tags = tag_codes(client, database)
    planned = [plan_segment(d, tags, database) for d in definitions]
    if use_cache:
        planned = cached_plans(client, planned, database)
    plans = {plan.name: plan for plan in [*planned, *extra]}
    target, others = plans[name], [plan for plan_name, plan in plans.items() if plan_name != name]
    people, size, overlap_sizes, sample = client.query(
        _figures_query(target, others, database, sample_size), settings=CLICKHOUSE_SEGMENT_SETTINGS
    ).result_rows[0]

    distribution: dict[str, dict[str, int]] = {}
    shown = _key_tags(tags, key_tags)
    if shown and size:
        codes = ", ".join(exp.Literal.string(tag).sql(DIALECT) for tag in shown)
        rows = client.query(
            f"WITH {target.bitmap(database)} AS target "
            f"SELECT tag_code, tag_value, bitmapAndCardinality(bitmap, target) AS people "
            f"FROM `{database}`.tag_bitmaps WHERE tag_code IN ({codes}) ORDER BY tag_code, people DESC, tag_value",
            settings=CLICKHOUSE_SEGMENT_SETTINGS,
        ).result_rows
        for code, value, count in rows:
            if count:
                distribution.setdefault(code, {})[value] = int(count)
    return Preview(
        segment=name,
        method=target.method,
        size=int(size),
        people=int(people),
        overlaps=dict(zip((o.name for o in others), (int(n) for n in overlap_sizes), strict=True)),
        sample=[int(one_id) for one_id in sample],
        tag_distribution=distribution,
        seconds=time.perf_counter() - started,
    )


@dataclass
class Diff:
    segment: str
    run_date: date
    previous_date: date | None
    current: int
    previous: int
    entered: int
    exited: int
    entered_sample: list[int]
    exited_sample: list[int]


def diff_segment(client, name: str, run_date: date, table: str = MEMBERSHIP_TABLE, sample_size: int = 10) -> Diff:
    """Who entered and who left the segment between the previous run before `run_date` and `run_date`."""
    parameters = {"segment": name, "day": run_date}
    has_run, earlier_rows, previous_date = client.query(
        "SELECT countIf(run_date = {day:Date}) > 0, "
        "countIf(segment = {segment:String} AND run_date < {day:Date}), "
        f"maxIf(run_date, segment = {{segment:String}} AND run_date < {{day:Date}}) FROM {table}",
        parameters=parameters,
    ).result_rows[0]
    if not has_run:
        raise NightshiftError(
            f"{table} has no membership for {run_date.isoformat()}; run the segments stage for that date first "
            f"(`nightshift run --date {run_date.isoformat()} --stages segments`)."
        )
    previous = previous_date if earlier_rows else None
    parameters["before"] = previous or date(1970, 1, 1)
    n = int(sample_size)
    row = client.query(
        "WITH groupBitmapStateIf(toUInt32(one_id), run_date = {day:Date}) AS now_in, "
        "groupBitmapStateIf(toUInt32(one_id), run_date = {before:Date}) AS before_in "
        "SELECT bitmapCardinality(now_in), bitmapCardinality(before_in), bitmapAndnotCardinality(now_in, before_in), "
        f"bitmapAndnotCardinality(before_in, now_in), bitmapToArray(bitmapSubsetLimit(bitmapAndnot(now_in, before_in), "
        f"0, {n})), bitmapToArray(bitmapSubsetLimit(bitmapAndnot(before_in, now_in), 0, {n})) "
        f"FROM {table} WHERE segment = {{segment:String}} AND run_date IN ({{day:Date}}, {{before:Date}})",
        parameters=parameters,
    ).result_rows[0]
    current, before, entered, exited, entered_sample, exited_sample = row
    return Diff(
        segment=name,
        run_date=run_date,
        previous_date=previous,
        current=int(current),
        previous=int(before),
        entered=int(entered),
        exited=int(exited),
        entered_sample=[int(x) for x in entered_sample],
        exited_sample=[int(x) for x in exited_sample],
    )


@dataclass
class ConditionResult:
    depth: int
    condition: str
    held: bool | None  # None: the condition was NULL (a NULL column), which a WHERE treats as not held


@dataclass
class Explanation:
    segment: str
    one_id: int
    is_member: bool
    found: bool  # the person has a row in the segment's source tables
    conditions: list[ConditionResult] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)


def _conditions(original: exp.Expression, qualified: exp.Expression, depth: int = 0):
    """(depth, text as written, qualified node) for every node of a boolean condition tree, top-down."""
    while isinstance(original, exp.Paren) and isinstance(qualified, exp.Paren):
        original, qualified = original.this, qualified.this
    yield depth, original.sql(DIALECT), qualified
    if isinstance(original, exp.Connector) and type(original) is type(qualified):
        # flatten `a AND b AND c` (nested left-deep in the tree) into siblings
        for left, right in zip(original.flatten(), qualified.flatten(), strict=False):
            yield from _conditions(left, right, depth + 1)
    elif isinstance(original, exp.Not) and isinstance(qualified, exp.Not):
        yield from _conditions(original.this, qualified.this, depth + 1)


def _held(values: list) -> bool | None:
    present = [bool(v) for v in values if v is not None]
    if any(present):
        return True
    return False if present and len(present) == len(values) else None


def explain_segment(client, definition: SegmentDefinition, one_id: int, database: str = MARTS) -> Explanation:
    """Evaluate every condition of the segment's WHERE separately for one person."""
    one_id = int(one_id)
    is_member = bool(
        client.query(
            f"SELECT count() > 0 FROM ({clickhouse_sql(definition, database)}) WHERE one_id = {one_id}",
            settings=CLICKHOUSE_SEGMENT_SETTINGS,
        ).result_rows[0][0]
    )
    explanation = Explanation(definition.name, one_id, is_member, found=False)
    qualified = definition.qualified()
    original_where = definition.expression.args.get("where")
    where = qualified.args.get("where")
    key = next((p.unalias() for p in qualified.expressions if p.alias_or_name == "one_id"), None)
    if not isinstance(qualified, exp.Select) or key is None:
        explanation.found = is_member
        return explanation
    nodes = list(_conditions(original_where.this, where.this)) if where is not None and original_where else []
    columns = {}
    for _, _, node in nodes:
        for column in node.find_all(exp.Column):
            columns.setdefault(column.sql(DIALECT), column)
    probe = qualified.copy()
    for clause in ("group", "having", "order", "limit", "distinct", "qualify"):
        probe.set(clause, None)
    projections = [node.copy().as_(f"c{i}") for i, (_, _, node) in enumerate(nodes)]
    projections += [column.copy().as_(f"v{i}") for i, column in enumerate(columns.values())]
    probe.set("expressions", projections or [exp.Literal.number(1).as_("c")])
    probe.set("where", exp.Where(this=exp.EQ(this=key.copy(), expression=exp.Literal.number(one_id))))
    rows = client.query(
        in_database(probe, database).limit(100).sql(DIALECT), settings=CLICKHOUSE_SEGMENT_SETTINGS
    ).result_rows
    explanation.found = bool(rows)
    if rows:
        for index, (depth, text, _) in enumerate(nodes):
            explanation.conditions.append(ConditionResult(depth, text, _held([row[index] for row in rows])))
        for offset, column in enumerate(columns.values()):
            explanation.values[column.name] = rows[0][len(nodes) + offset]
    return explanation
