"""sqlglot helpers shared by validation, preview and the Spark transpiler."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from nightshift.segments.schema import MARTS, MartsSchema

DIALECT = "clickhouse"


def qualify_query(expression: exp.Query, schema: MartsSchema) -> exp.Query:
    return qualify(
        expression,
        schema={MARTS: schema},
        dialect=DIALECT,
        validate_qualify_columns=False,
        quote_identifiers=True,
        identify=False,
    )


def in_database(query: exp.Query, database: str) -> exp.Query:
    """The query with `marts.x` read from `database.x` (a copy; the identity when database is marts)."""
    tree = query.copy()
    if database != MARTS:
        for table in tree.find_all(exp.Table):
            if table.db.lower() == MARTS:
                table.set("db", exp.to_identifier(database))
    return tree


# Clauses after which a query is no longer "one row per profile row that passes a filter".
_NOT_A_PLAIN_FILTER = ("joins", "group", "having", "distinct", "limit", "order", "qualify", "offset", "laterals")


def plain_filter_condition(tree: exp.Expression, is_source: Callable[[exp.Table], bool]) -> exp.Expression | None:
    """The WHERE of `SELECT one_id FROM <source> [WHERE ...]` with unqualified columns (TRUE when there is no
    WHERE), or None when the query is anything more (joins, grouping, CTEs, subqueries, another table).

    Both the bitmap preview (ClickHouse) and the Spark segments job use this to recognise a segment that is a
    filter over the profile alone; they differ only in how the profile table is named (`is_source`).
    """
    if not isinstance(tree, exp.Select) or tree.args.get("with_") or tree.args.get("with"):
        return None
    if any(tree.args.get(key) for key in _NOT_A_PLAIN_FILTER):
        return None
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if source else None
    if not isinstance(table, exp.Table) or not is_source(table):
        return None
    # other selected columns do not change who is in (no DISTINCT, no GROUP BY): only one_id must be plain
    key = next((p.unalias() for p in tree.expressions if p.alias_or_name == "one_id"), None)
    if not isinstance(key, exp.Column) or key.name != "one_id":
        return None
    where = tree.args.get("where")
    condition = where.this.copy() if where else exp.true()
    if condition.find(exp.Query):
        return None  # a subquery keeps its own qualified columns: run the SQL as written
    for column in condition.find_all(exp.Column):
        column.set("table", None)  # one source: unqualified names resolve against it
    return condition
