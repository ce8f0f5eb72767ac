"""sqlglot helpers shared by validation, preview and the Spark transpiler."""

from __future__ import annotations

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
