"""The rules a segment's SQL must follow, each raising a SegmentError at the offending file:line:column.

One read-only SELECT; no SETTINGS/FORMAT; no table functions or functions reading files, URLs or other servers;
no system or non-marts tables; no functions that change between runs; existing columns only; nothing the nightly
Spark job cannot reproduce with the same members.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from nightshift.segments.files import SegmentFile, closest
from nightshift.segments.schema import MARTS, MartsSchema
from nightshift.segments.sql import DIALECT

SYSTEM_DATABASES = {"system", "information_schema"}
# Table functions (and same-named scalar functions) that read files, URLs or other servers.
EXTERNAL_FUNCTIONS = {
    "file",
    "url",
    "urlcluster",
    "s3",
    "s3cluster",
    "gcs",
    "azureblobstorage",
    "azureblobstoragecluster",
    "remote",
    "remotesecure",
    "cluster",
    "clusterallreplicas",
    "mysql",
    "postgresql",
    "sqlite",
    "mongodb",
    "redis",
    "hdfs",
    "hdfscluster",
    "jdbc",
    "odbc",
    "input",
    "executable",
    "iceberg",
    "icebergs3",
    "deltalake",
    "hudi",
    "dictionary",
    "merge",
    "view",
    "loop",
    "fuzzjson",
    "fuzzquery",
    "generaterandom",
    "dictget",
    "dictgetordefault",
    "dictgetornull",
    "dicthas",
    "joinget",
    "filesystem",
}
# Results must depend only on the marts of the run date, so a re-run gives the same members.
NONDETERMINISTIC_FUNCTIONS = {
    "today",
    "yesterday",
    "now",
    "now64",
    "nowinblock",
    "rand",
    "rand32",
    "rand64",
    "randcanonical",
    "generateuuidv4",
    "generateuuidv7",
    "rownumberinallblocks",
    "rownumberinblock",
    "blocknumber",
}
NONDETERMINISTIC_NODES = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.Rand)
WRITE_NODES = (
    exp.Insert,
    exp.Create,
    exp.Drop,
    exp.Delete,
    exp.Update,
    exp.Alter,
    exp.Merge,
    exp.Command,
    exp.TruncateTable,
    exp.Set,
    exp.Use,
    exp.Copy,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.LoadData,
    exp.Grant,
)


def _offset_of(node: exp.Expression) -> int | None:
    for candidate in (node, node.this if isinstance(node.this, exp.Expression) else None):
        if candidate is not None and candidate.meta.get("start") is not None:
            return candidate.meta["start"]
    return None


def _error_at_node(segment: SegmentFile, node: exp.Expression, message: str, hint: str = "", word: str = ""):
    offset = _offset_of(node)
    if offset is None and word:
        match = re.search(rf"\b{re.escape(word)}\b", segment.sql, flags=re.IGNORECASE)
        offset = match.start() if match else None
    return segment.error_at_offset(offset or 0, message, hint)


def parse_query(segment: SegmentFile) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(segment.sql, read=DIALECT) if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        raise segment.error_at(
            first.get("line") or 1,
            first.get("col") or 1,
            f"syntax error: {first.get('description', str(error))} near {first.get('highlight', '')!r}.",
            "Check the statement runs in ClickHouse (`nightshift sql '...'`).",
        ) from None
    except SqlglotError as error:
        raise segment.error_at(1, 1, f"cannot read the SQL: {error}.", "Check quotes and brackets.") from None
    if len(statements) != 1:
        second = segment.sql.find(";") + 1
        raise segment.error_at_offset(
            max(second, 0),
            f"found {len(statements)} statements; a segment is exactly one SELECT.",
            "Keep one SELECT and remove the others (and any `;` inside the file).",
        )
    statement = statements[0]
    write = statement if isinstance(statement, WRITE_NODES) else next(statement.find_all(*WRITE_NODES), None)
    if write is not None or not isinstance(statement, exp.Query):
        kind = type(write or statement).__name__.upper()
        raise _error_at_node(
            segment,
            write or statement,
            f"a segment must be one read-only SELECT, found {kind}.",
            "Segments only read: select the one_ids from marts tables; tables are built by dbt.",
        )
    return statement


def check_functions(segment: SegmentFile, query: exp.Query) -> None:
    for node in query.find_all(exp.Query):
        for clause in ("settings", "format"):
            if node.args.get(clause):
                raise _error_at_node(
                    segment,
                    next(node.args[clause][0].find_all(exp.Column), node),
                    f"{clause.upper()} is not allowed.",
                    f"Remove the {clause.upper()} clause: the pipeline decides engine settings and output format.",
                    word=clause,
                )
    for table in query.find_all(exp.Table):
        if isinstance(table.this, exp.Func):
            name = table.this.name if isinstance(table.this, exp.Anonymous) else table.this.sql_name()
            what = "reads files, URLs or other servers" if name.lower() in EXTERNAL_FUNCTIONS else "is a table function"
            raise _error_at_node(
                segment,
                table.this,
                f"table function {name}() {what}; segments may only read marts tables.",
                "Read from marts.user_profile, marts.user_tags or marts.tag_bitmaps instead.",
                word=name,
            )
    for function in query.find_all(exp.Func):
        name = (function.name if isinstance(function, exp.Anonymous) else function.sql_name()).lower()
        if name in EXTERNAL_FUNCTIONS:
            raise _error_at_node(
                segment,
                function,
                f"function {name}() reads data from outside the marts.",
                "Segments may only read marts tables.",
                word=name,
            )
        if name in NONDETERMINISTIC_FUNCTIONS or isinstance(function, NONDETERMINISTIC_NODES):
            raise _error_at_node(
                segment,
                function,
                f"{function.sql(DIALECT)} changes from one run to the next.",
                "Use the profile's date column `profile_date` (the run date) instead, so re-runs give the same "
                "members.",
                word=function.sql(DIALECT).split("(")[0],
            )


def check_tables(segment: SegmentFile, query: exp.Query, schema: MartsSchema) -> None:
    cte_names = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        database, name = table.db, table.name
        if not database and name in cte_names:
            continue
        if database.lower() in SYSTEM_DATABASES:
            raise _error_at_node(
                segment,
                table,
                f"system table {database}.{name} is not allowed.",
                "Segments may only read marts tables (marts.user_profile, marts.user_tags, marts.tag_bitmaps).",
            )
        if database.lower() != MARTS:
            known = f"marts.{name}" if name in schema else "marts.user_profile"
            shown = f"{database}.{name}" if database else name
            raise _error_at_node(
                segment, table, f"table {shown} is not a marts table.", f"Segments may only read marts.*; use {known}."
            )
        if name not in schema:
            guess = closest(name, set(schema))
            raise _error_at_node(
                segment,
                table,
                f"table marts.{name} does not exist.",
                f"Did you mean marts.{guess}?" if guess else f"Existing marts tables: {', '.join(sorted(schema))}.",
            )


def _source_columns(scope: Scope, source: object, schema: MartsSchema) -> set[str] | None:
    if isinstance(source, exp.Table):
        return set(schema.get(source.name, {})) if source.db.lower() == MARTS or not source.db else None
    if isinstance(source, Scope) and isinstance(source.expression, exp.Query):
        return set(source.expression.named_selects)
    return None


def check_columns(segment: SegmentFile, qualified: exp.Query, schema: MartsSchema) -> None:
    for scope in traverse_scope(qualified):
        visible: set[str] = set()
        by_source = {name: _source_columns(scope, source, schema) for name, source in scope.sources.items()}
        for columns in by_source.values():
            visible |= columns or set()
        for column in scope.columns:
            known = by_source.get(column.table) if column.table else None
            if known is not None and column.name in known:
                continue
            if column.table and column.table in by_source and known is None:
                continue  # a source whose columns we cannot list (should not happen after the checks above)
            candidates = known if known is not None else visible
            guess = closest(column.name, candidates)
            hint = (
                f"Did you mean `{guess}`?"
                if guess
                else 'Check the column list with `nightshift sql "DESCRIBE marts.user_profile"`.'
            )
            where = f" in {column.table}" if column.table else ""
            raise _error_at_node(segment, column, f"unknown column `{column.name}`{where}.", hint, word=column.name)


def check_qualified_columns(segment: SegmentFile, query: exp.Query, schema: MartsSchema) -> None:
    """`alias.column` on a marts table, checked before qualification (which stops at the first unknown one)."""
    for scope in traverse_scope(query):
        for column in scope.columns:
            source = scope.sources.get(column.table) if column.table else None
            if isinstance(source, exp.Table) and column.name not in schema.get(source.name, {}):
                known = set(schema.get(source.name, {}))
                guess = closest(column.name, known)
                hint = f"Did you mean `{guess}`?" if guess else f"marts.{source.name} has no such column."
                raise _error_at_node(
                    segment, column, f"unknown column `{column.name}` in {column.table}.", hint, word=column.name
                )


def check_portable(segment: SegmentFile, query: exp.Query) -> None:
    """ClickHouse-only clauses the nightly Spark run cannot reproduce with the same members."""
    for join in query.find_all(exp.Join):
        if join.text("kind").upper() == "ARRAY":
            raise _error_at_node(
                segment,
                join.this,
                "ARRAY JOIN cannot be run by the nightly Spark job.",
                "Use has()/arrayExists() on the array, or the long table marts.user_tags.",
                word="ARRAY",
            )
    for node in query.find_all(exp.TableSample, exp.Final):
        clause = "SAMPLE" if isinstance(node, exp.TableSample) else "FINAL"
        raise _error_at_node(
            segment,
            node,
            f"{clause} is not allowed: Spark would select different rows.",
            f"Remove {clause}; marts tables are rebuilt every night, so they need neither.",
            word=clause,
        )
    for select in query.find_all(exp.Select):
        limit = select.args.get("limit")
        if limit is not None and (limit.args.get("expressions") or not select.args.get("order")):
            raise _error_at_node(
                segment,
                limit,
                "LIMIT without a total ORDER BY (or LIMIT BY) picks arbitrary people.",
                "Remove the LIMIT, or ORDER BY columns that make the order unique (e.g. ..., one_id).",
                word="LIMIT",
            )


def check_spark(segment: SegmentFile, query: exp.Query, schema: MartsSchema) -> None:
    from sqlglot.errors import ErrorLevel

    from nightshift.segments.spark_sql import spark_tree

    for table in query.find_all(exp.Table):
        columns = schema.get(table.name, {}) if table.db.lower() == MARTS else {}
        if any(column_type.startswith("AggregateFunction") for column_type in columns.values()):
            raise _error_at_node(
                segment,
                table,
                f"marts.{table.name} holds ClickHouse aggregate states (bitmaps) the nightly Spark job cannot read.",
                "Filter marts.user_tags (tag_code, tag_value) or the profile's tag columns instead; "
                "`nightshift segment preview` uses the bitmaps for you.",
            )
    try:
        spark_tree(query, schema).sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except (SqlglotError, ValueError) as error:
        raise segment.error_at(
            1,
            1,
            f"the query cannot be translated for Spark: {error}.",
            "Rewrite that part with standard SQL functions (see nightshift/segments/spark_sql.py).",
        ) from None
