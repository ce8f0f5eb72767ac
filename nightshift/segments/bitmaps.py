"""Compile segments to ClickHouse bitmap expressions, so preview and overlaps answer in milliseconds.

A segment whose WHERE is an AND/OR/NOT combination of tag equality conditions (`tag = 'v'`, `tag != 'v'`,
`tag IN (...)`, `tag NOT IN (...)`; `<`, `<=`, `>`, `>=` on integer tags with bitmaps, as the set of their values
that compare true) on `marts.user_profile` is evaluated on `marts.tag_bitmaps` rows instead of scanning the profile.
SQL's three-valued logic is kept exactly: every sub-condition has a TRUE set and a FALSE set (a person without a
value for the tag is in neither, like a NULL column), so `NOT (tier = 'gold')` means "has a tier and it is not
gold", as the SQL says. This relies on the marts contract: the profile's tag column holds value v exactly when
`marts.tag_bitmaps` has that person in the bitmap (tag_code, toString(v)), and is NULL when the person has no row
for the tag. Boolean tags are the exception the dbt macro `tag_value_expression` makes: their UInt8/Bool column
holds 1/0 while their tag values are 'true'/'false' (told apart by those values); `flag = 1`, `flag` and `NOT flag`
compile to those bitmaps.

Every other segment that is `SELECT one_id FROM marts.user_profile [WHERE ...]` becomes a row condition: preview
counts all of them (and their overlaps) in ONE scan of the profile. Anything else runs its SQL as a subquery
aggregated into a bitmap.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from sqlglot import exp

from nightshift.segments.schema import MARTS, TagValues, is_boolean_tag
from nightshift.segments.sql import DIALECT, in_database, plain_filter_condition
from nightshift.segments.validate import SegmentDefinition

PROFILE = "user_profile"
# Settings for running analysts' SQL in ClickHouse with standard SQL semantics (outer joins give NULLs,
# as in Spark), so both engines agree. They are ours, not the analyst's (analysts cannot use SETTINGS).
CLICKHOUSE_SEGMENT_SETTINGS = {"join_use_nulls": 1}


def _quote(value: str) -> str:
    return exp.Literal.string(value).sql(DIALECT)


def clickhouse_sql(definition: SegmentDefinition, database: str = MARTS) -> str:
    """The SQL to run in ClickHouse: the analyst's text as written, or re-rendered for another database."""
    if database == MARTS:
        return definition.sql
    return in_database(definition.expression, database).sql(DIALECT)


def profile_condition(definition: SegmentDefinition) -> exp.Expression | None:
    """The WHERE of a `SELECT one_id FROM marts.user_profile [AS p] [WHERE ...]` segment (TRUE if none)."""
    return plain_filter_condition(
        definition.qualified(), lambda table: table.name == PROFILE and table.db.lower() == MARTS
    )


@dataclass(frozen=True)
class TagSets:
    """ClickHouse expressions (over aggregates of tag_bitmaps rows) for the TRUE and FALSE sets of a condition."""

    true: str
    false: str


class _NotTagCombination(Exception):
    pass


# comparisons of an integer tag with a number, and the same comparison with the sides swapped
_ORDER = {
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
}
_FLIPPED = {exp.GT: operator.lt, exp.GTE: operator.le, exp.LT: operator.gt, exp.LTE: operator.ge}


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()


class _Compiler:
    def __init__(self, tags: TagValues | set[str]) -> None:
        self.tags = tags
        self.aggregates: dict[str, str] = {}  # alias -> aggregate over tag_bitmaps rows
        self.codes: set[str] = set()

    def _aggregate(self, condition: str) -> str:
        aggregate = f"groupBitmapMergeStateIf(bitmap, {condition})"
        for alias, existing in self.aggregates.items():
            if existing == aggregate:
                return alias  # e.g. the "has a value" set of a tag used twice
        alias = f"b{len(self.aggregates)}"
        self.aggregates[alias] = aggregate
        return alias

    def _tag_value(self, code: str, value: exp.Expression) -> str:
        """The tag_value string a literal compared with the tag's profile column stands for."""
        if is_boolean_tag(self.tags, code):
            # the profile column is UInt8/Bool (0/1); the tag rows say 'false'/'true'
            if isinstance(value, exp.Boolean):
                return "true" if value.this else "false"
            if isinstance(value, exp.Literal) and not value.is_string and _is_integer(value.this):
                return {0: "false", 1: "true"}.get(int(value.this), value.this)  # 2 matches nobody, as in SQL
            raise _NotTagCombination
        if not isinstance(value, exp.Literal):
            raise _NotTagCombination
        text = value.this  # the literal's text: 'ios' -> ios, 5 -> 5 (tag_value is a String)
        values = self.tags.get(code, frozenset()) if isinstance(self.tags, dict) else frozenset()
        integer_tag = bool(values) and all(_is_integer(v) for v in values)
        if not value.is_string or integer_tag:
            # a number, or a numeric string the engine converts to the integer column's type: 05 -> '5'
            if not _is_integer(text.strip()):
                raise _NotTagCombination
            return str(int(text.strip()))
        return text

    def _sets(self, code: str, texts: list[str]) -> TagSets:
        self.codes.add(code)
        listed = ", ".join(_quote(text) for text in texts)
        true = self._aggregate(f"tag_code = {_quote(code)} AND tag_value IN ({listed})")
        present = self._aggregate(f"tag_code = {_quote(code)}")
        return TagSets(true, f"bitmapAndnot({present}, {true})")

    def _atom(self, column: exp.Expression, values: list[exp.Expression]) -> TagSets:
        if not isinstance(column, exp.Column) or column.name not in self.tags:
            raise _NotTagCombination
        return self._sets(column.name, [self._tag_value(column.name, value) for value in values])

    def compile(self, node: exp.Expression) -> TagSets:
        if isinstance(node, exp.Paren):
            return self.compile(node.this)
        if isinstance(node, exp.Column) and node.name in self.tags and is_boolean_tag(self.tags, node.name):
            return self._sets(node.name, ["true"])  # `WHERE flag`: a boolean tag used as a condition
        if isinstance(node, exp.Not):
            inner = self.compile(node.this)
            return TagSets(inner.false, inner.true)
        if isinstance(node, exp.And | exp.Or):
            left, right = self.compile(node.this), self.compile(node.expression)
            both, either = "bitmapAnd({}, {})", "bitmapOr({}, {})"
            if isinstance(node, exp.And):
                return TagSets(both.format(left.true, right.true), either.format(left.false, right.false))
            return TagSets(either.format(left.true, right.true), both.format(left.false, right.false))
        if isinstance(node, exp.EQ | exp.NEQ):
            column, value = node.this, node.expression
            if isinstance(column, exp.Literal | exp.Boolean):
                column, value = value, column
            sets = self._atom(column, [value])
            return sets if isinstance(node, exp.EQ) else TagSets(sets.false, sets.true)
        if isinstance(node, exp.In) and not node.args.get("query") and not node.args.get("unnest"):
            return self._atom(node.this, list(node.expressions))
        if isinstance(node, tuple(_ORDER)):
            return self._ordered(node)
        raise _NotTagCombination

    def _ordered(self, node: exp.Expression) -> TagSets:
        """`score >= 4` on an integer tag with bitmaps: the values of its bitmaps that satisfy the comparison."""
        column, value, compare = node.this, node.expression, _ORDER[type(node)]
        if isinstance(column, exp.Literal):
            column, value, compare = value, column, _FLIPPED[type(node)]
        if not isinstance(column, exp.Column) or not isinstance(value, exp.Literal) or value.is_string:
            raise _NotTagCombination
        values = self.tags.get(column.name) if isinstance(self.tags, dict) else None
        if not values or is_boolean_tag(self.tags, column.name) or not all(_is_integer(v) for v in values):
            raise _NotTagCombination
        try:
            bound = float(value.this)
        except ValueError:
            raise _NotTagCombination from None
        return self._sets(column.name, sorted(v for v in values if compare(int(v), bound)) or ["<none>"])


def bitmap_expression(definition: SegmentDefinition, tags: TagValues, database: str = MARTS) -> str | None:
    """A scalar subquery giving the segment's members as a groupBitmap state over tag_bitmaps, or None."""
    condition = profile_condition(definition)
    if condition is None or isinstance(condition, exp.Boolean):
        return None
    compiler = _Compiler(tags)
    try:
        sets = compiler.compile(condition)
    except _NotTagCombination:
        return None
    aggregates = ", ".join(f"{sql} AS {alias}" for alias, sql in compiler.aggregates.items())
    codes = ", ".join(_quote(code) for code in sorted(compiler.codes))
    # One read of the few tag rows involved (index_granularity = 1 makes it a handful of granules).
    return f"(SELECT {sets.true} FROM (SELECT {aggregates} FROM `{database}`.tag_bitmaps WHERE tag_code IN ({codes})))"


TAG_BITMAPS, PROFILE_SCAN, SQL = "tag bitmaps", "profile scan", "sql"


@dataclass(frozen=True)
class SegmentPlan:
    """How ClickHouse computes a segment's members: a bitmap expression, or a condition on profile rows."""

    name: str
    method: str  # TAG_BITMAPS or SQL: `expression` is a groupBitmap state; PROFILE_SCAN: a row condition
    expression: str
    cached: bool = False  # `expression` reads the bitmap from the cache (whatever the method)

    @property
    def is_condition(self) -> bool:
        return self.method == PROFILE_SCAN and not self.cached

    def member_condition(self, alias: str) -> str:
        """A per-profile-row condition: the segment's own WHERE, or membership of the bitmap bound to `alias`."""
        if self.is_condition:
            return f"coalesce(({self.expression}) != 0, 0)"
        return f"bitmapContains({alias}, toUInt32(one_id))"

    def bitmap(self, database: str) -> str:
        """A groupBitmap state of the members (for a profile scan: one conditional aggregate over the profile)."""
        if not self.is_condition:
            return self.expression
        return f"(SELECT groupBitmapStateIf(toUInt32(one_id), {self.member_condition('')}) FROM `{database}`.{PROFILE})"


def plan_segment(definition: SegmentDefinition, tags: TagValues, database: str = MARTS) -> SegmentPlan:
    compiled = bitmap_expression(definition, tags, database)
    if compiled is not None:
        return SegmentPlan(definition.name, TAG_BITMAPS, compiled)
    condition = profile_condition(definition)
    if condition is not None:
        return SegmentPlan(definition.name, PROFILE_SCAN, condition.sql(DIALECT))
    return SegmentPlan(
        definition.name,
        SQL,
        f"(SELECT groupBitmapState(toUInt32(one_id)) FROM ({clickhouse_sql(definition, database)}))",
    )
