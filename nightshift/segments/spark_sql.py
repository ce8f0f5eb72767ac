"""ClickHouse segment SQL -> Spark SQL, so one definition gives the same members in both engines.

sqlglot does most of the work (clickhouse -> spark). What it leaves unmapped or maps with different semantics
is rewritten here, on the qualified tree (types come from the marts schema):

| ClickHouse                          | Spark                                   | why                                  |
|-------------------------------------|-----------------------------------------|--------------------------------------|
| `empty(s)` / `notEmpty(s)`          | `s = ''` / `s <> ''` (`size()` arrays)  | no such functions in Spark           |
| `length(s)` on strings              | `octet_length(s)`                       | ClickHouse counts bytes, Spark chars |
| `length(a)` on arrays               | `size(a)`                               |                                      |
| `lengthUTF8(s)`                     | `char_length(s)`                        |                                      |
| `lowerUTF8` / `upperUTF8`           | `lower` / `upper`                       |                                      |
| `multiIf(c1, v1, ..., else)`        | `CASE WHEN ... END`                     | not mapped by sqlglot                |
| `toDate(x)` / `toString(x)`         | `CAST(x AS DATE)` / `CAST(x AS STRING)` | not mapped by sqlglot                |
| `toInt64OrNull(x)` / `...OrZero`    | `TRY_CAST` (+ `COALESCE(.., 0)`)        | Spark 4 ANSI mode would raise; NULL  |
|                                     |                                         | input stays NULL as in ClickHouse    |
| `addDays/subtractDays/addMonths`    | `date_add` / `date_sub` / `add_months`  |                                      |
| `toYYYYMM(d)` / `toYear` / `toMonth`| `year(d) * 100 + month(d)` / ...        |                                      |
| `dateDiff('month'/'year', a, b)`    | difference of month/year numbers        | ClickHouse counts calendar boundaries|
| `arrayExists(x -> p, a)`            | `exists(a, x -> p)`                     | argument order                       |
| `count()`                           | `count(*)`                              | Spark 4 rejects `count()`            |
| a non-boolean in a condition        | `CAST(x AS BOOLEAN)`                    | `WHERE flag` / `NOT flag` on UInt8   |
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from nightshift.segments.schema import MARTS, MartsSchema
from nightshift.segments.sql import DIALECT, qualify_query

VIEW_PREFIX = "marts__"
SAFE_CAST = re.compile(r"^to(?P<type>u?int(8|16|32|64)|float(32|64))(?P<mode>ornull|orzero)$")
SPARK_NUMBER_TYPES = {"float32": "FLOAT", "float64": "DOUBLE"}
BOOLEAN_NODES = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean, exp.Exists, exp.Xor, exp.ArrayContains)


def view_name(table: str) -> str:
    """The Spark temp view that stands for `marts.<table>`."""
    return f"{VIEW_PREFIX}{table}"


def _anonymous(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _column_types(tree: exp.Expression, schema: MartsSchema) -> Callable[[exp.Expression], str]:
    """A lookup of a column's ClickHouse type ('' when unknown), valid on the qualified tree."""
    aliases: dict[str, str] = {}
    for scope in traverse_scope(tree):
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table):
                aliases[alias] = source.name

    def type_of(node: exp.Expression) -> str:
        if isinstance(node, exp.Column):
            return schema.get(aliases.get(node.table, ""), {}).get(node.name, "")
        return ""

    return type_of


def _is_array(node: exp.Expression, type_of: Callable[[exp.Expression], str]) -> bool:
    return "Array(" in type_of(node) or isinstance(node, exp.Array)


def _multi_if(args: list[exp.Expression]) -> exp.Expression:
    case = exp.Case()
    for condition, value in zip(args[:-1:2], args[1:-1:2], strict=True):
        case = case.when(condition, value)
    return case.else_(args[-1])


def _date_diff(node: exp.DateDiff) -> exp.Expression | None:
    unit = (node.text("unit") or "day").lower()
    end, start = node.this, node.expression
    if unit == "day":
        return _anonymous("datediff", end, start)
    if unit in ("month", "year"):

        def number(value: exp.Expression) -> exp.Expression:
            year = _anonymous("year", value.copy())
            if unit == "year":
                return year
            return exp.Add(
                this=exp.Mul(this=year, expression=exp.Literal.number(12)), expression=_anonymous("month", value.copy())
            )

        return exp.Sub(this=exp.Paren(this=number(end)), expression=exp.Paren(this=number(start)))
    return None


def _rewrite_function(node: exp.Expression, type_of: Callable[[exp.Expression], str]) -> exp.Expression:
    if isinstance(node, exp.Length):
        return exp.ArraySize(this=node.this) if _is_array(node.this, type_of) else _anonymous("octet_length", node.this)
    if isinstance(node, exp.DateDiff):
        return _date_diff(node) or node
    if isinstance(node, exp.Count) and node.this is None:
        return exp.Count(this=exp.Star())
    if not isinstance(node, exp.Anonymous):
        return node
    name, args = node.name.lower(), list(node.expressions)
    if name in ("empty", "notempty"):
        target = args[0]
        if _is_array(target, type_of):
            size = exp.ArraySize(this=target)
            return (
                exp.EQ(this=size, expression=exp.Literal.number(0))
                if name == "empty"
                else exp.GT(this=size, expression=exp.Literal.number(0))
            )
        empty = exp.Literal.string("")
        return exp.EQ(this=target, expression=empty) if name == "empty" else exp.NEQ(this=target, expression=empty)
    simple = {
        "lowerutf8": "lower",
        "upperutf8": "upper",
        "lengthutf8": "char_length",
        "toyear": "year",
        "tomonth": "month",
        "todayofmonth": "dayofmonth",
        "adddays": "date_add",
        "subtractdays": "date_sub",
        "addmonths": "add_months",
    }
    if name in simple:
        return _anonymous(simple[name], *args)
    if name == "multiif":
        return _multi_if(args)
    if name in ("todate", "tostring"):
        return exp.cast(args[0], "DATE" if name == "todate" else "STRING")
    if name == "toyyyymm":
        year = _anonymous("year", args[0].copy())
        return exp.Add(
            this=exp.Mul(this=year, expression=exp.Literal.number(100)), expression=_anonymous("month", args[0].copy())
        )
    if name == "arrayexists":
        return _anonymous("exists", args[1], args[0])
    match = SAFE_CAST.match(name)
    if match:
        number_type = match["type"]
        spark_type = SPARK_NUMBER_TYPES.get(number_type, "BIGINT")
        cast = exp.TryCast(this=args[0], to=exp.DataType.build(spark_type), safe=True)
        if match["mode"] == "ornull":
            return cast
        # ...OrZero keeps NULL for a NULL input (ClickHouse propagates NULL through functions)
        zero = exp.Coalesce(this=cast, expressions=[exp.Literal.number(0)])
        return exp.If(this=exp.Is(this=args[0].copy(), expression=exp.Null()), true=exp.Null(), false=zero)
    return node


def _as_boolean(node: exp.Expression) -> exp.Expression:
    inner = node.unnest()
    if isinstance(inner, (*BOOLEAN_NODES, exp.Null)):
        return node
    return exp.cast(node, "BOOLEAN")


def _force_boolean_conditions(tree: exp.Expression) -> None:
    """ClickHouse treats any number as a condition; Spark needs booleans where conditions go."""
    for node in list(tree.find_all(exp.Where, exp.Having, exp.Not, exp.Connector, exp.If)):
        keys = ("this", "expression") if isinstance(node, exp.Connector) else ("this",)
        for key in keys:
            child = node.args.get(key)
            if isinstance(child, exp.Expression):
                node.set(key, _as_boolean(child))


def spark_tree(query: exp.Query, schema: MartsSchema | None) -> exp.Query:
    """The Spark-ready tree: qualified (when the schema is known), functions rewritten, marts -> views."""
    tree = qualify_query(query.copy(), schema) if schema else query.copy()
    type_of = _column_types(tree, schema or {})
    tree = tree.transform(lambda node: _rewrite_function(node, type_of))
    _force_boolean_conditions(tree)
    for table in tree.find_all(exp.Table):
        if table.db.lower() == MARTS:
            table.set("this", exp.to_identifier(view_name(table.name)))
            table.set("db", None)
    return tree


def to_spark_sql(clickhouse_sql: str | exp.Query, schema: MartsSchema | None = None) -> str:
    """Transpile a ClickHouse SELECT to Spark SQL, with `marts.x` read from the temp view `marts__x`."""
    query = sqlglot.parse_one(clickhouse_sql, read=DIALECT) if isinstance(clickhouse_sql, str) else clickhouse_sql
    return spark_tree(query, schema).sql(dialect="spark")
