"""Validate segment files before anything runs them: one read-only SELECT over existing marts columns.

`validate_segment` turns a parsed file into a `SegmentDefinition` or raises a `SegmentError` located at the
offending file:line:column with a suggested fix. `validate_all` never stops at the first bad file: it returns the
valid definitions and the list of errors, so one analyst's typo cannot hold back every other segment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError

from nightshift.segments import checks
from nightshift.segments.files import (
    SEGMENTS_DIR,
    SegmentError,
    SegmentFile,
    closest,
)
from nightshift.segments.loading import parse_any_segment_file, segment_paths
from nightshift.segments.schema import MARTS, MartsSchema, marts_schema, warehouse_schema
from nightshift.segments.sql import DIALECT, in_database, qualify_query

__all__ = ["DIALECT", "SegmentDefinition", "ValidationReport", "in_database", "qualify_query", "validate_all"]


@dataclass(frozen=True)
class SegmentDefinition:
    """A validated segment: the file, its parsed SELECT and the marts schema it was checked against."""

    file: SegmentFile
    expression: exp.Query
    schema: MartsSchema = field(repr=False)

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def sql(self) -> str:
        """What runs: the file's SELECT (a rule's compiled SELECT), narrowed to its sample when it has one."""
        return self.file.query_sql

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def tables(self) -> set[str]:
        """The marts tables the segment reads (names without the database)."""
        return {table.name for table in self.expression.find_all(exp.Table) if table.db.lower() == MARTS}

    def qualified(self) -> exp.Query:
        """A copy with every column qualified, `*` expanded and ClickHouse alias references inlined."""
        return qualify_query(self.expression.copy(), self.schema)


@dataclass
class ValidationReport:
    valid: list[SegmentDefinition] = field(default_factory=list)
    errors: list[SegmentError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_segment(segment: SegmentFile, schema: MartsSchema) -> SegmentDefinition:
    """Check one parsed file against the marts schema; returns the definition or raises SegmentError."""
    query = checks.parse_query(segment)
    checks.check_functions(segment, query)
    checks.check_tables(segment, query, schema)
    checks.check_qualified_columns(segment, query, schema)
    try:
        qualified = qualify_query(query.copy(), schema)
    except OptimizeError as error:
        raise segment.error_at(1, 1, f"cannot resolve the query: {error}.", "Check table and column names.") from None
    checks.check_columns(segment, qualified, schema)
    checks.check_portable(segment, query)
    checks.check_spark(segment, query, schema)
    if "one_id" not in qualified.named_selects:
        raise segment.error_at(
            1,
            1,
            f"the SELECT returns {', '.join(qualified.named_selects) or 'no named columns'} but no `one_id`.",
            "Select the person key: `SELECT one_id FROM marts.user_profile WHERE ...` (or `... AS one_id`).",
        )
    if segment.sample:
        query = sqlglot.parse_one(segment.query_sql, read=DIALECT)
        checks.check_spark(segment, query, schema)
    return SegmentDefinition(segment, query, schema)


def check_in_warehouse(definition: SegmentDefinition, client, database: str = MARTS) -> None:
    """Let ClickHouse analyse the query (EXPLAIN, reads no data): catches unknown functions, wrong arguments."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    sql = definition.sql if database == MARTS else in_database(definition.expression, database).sql(DIALECT)
    try:
        client.query(f"EXPLAIN PLAN {sql}")
    except ClickHouseError as error:
        reason = str(error).split("DB::Exception: ", 1)[-1].split(". (", 1)[0].splitlines()[0][:300]
        raise definition.file.error_at(
            1, 1, f"ClickHouse rejects the query: {reason}.", "Fix it until it runs in `nightshift sql`."
        ) from None


def validate_file(path: Path, schema: MartsSchema) -> SegmentDefinition:
    segment = parse_any_segment_file(path)
    try:
        return validate_segment(segment, schema)
    except SegmentError as error:
        if segment.kind != "rule":
            raise
        # a rule's compiled SQL is not in the file: point at the rule and quote the SQL's complaint
        raise SegmentError(
            segment.path, segment.sql_first_line, 1, f"the compiled rule does not run here: {error.message}", error.hint
        ) from None


def validate_all(
    directory: Path = SEGMENTS_DIR, client=None, database: str = MARTS, names: list[str] | None = None
) -> ValidationReport:
    """Validate every segment file (or those named); columns are checked against the warehouse when given."""
    live = warehouse_schema(client, database) if client is not None else {}
    schema = marts_schema(client, database) if "user_profile" not in live else live
    report = ValidationReport()
    paths = segment_paths(directory)
    if names:
        wanted = set(names)
        missing = wanted - {path.stem for path in paths}
        for name in sorted(missing):
            guess = closest(name, {path.stem for path in paths})
            report.errors.append(
                SegmentError(
                    Path(directory) / f"{name}.sql",
                    1,
                    1,
                    "no such segment file.",
                    f"Did you mean {guess}?" if guess else f"Create {Path(directory) / name}.sql.",
                )
            )
        paths = [path for path in paths if path.stem in wanted]
    seen: dict[str, Path] = {}
    for path in paths:
        if path.stem in seen:  # x.sql and x.yml: one name, two definitions
            report.errors.append(
                SegmentError(
                    path,
                    1,
                    1,
                    f"segment {path.stem!r} is also defined by {seen[path.stem].name}.",
                    "Keep one of the two files.",
                )
            )
            continue
        seen[path.stem] = path
        try:
            definition = validate_file(path, schema)
            if live and definition.tables <= set(live):
                check_in_warehouse(definition, client, database)
            report.valid.append(definition)
        except SegmentError as error:
            if not live and "unknown column" in error.message:
                error = SegmentError(
                    error.path,
                    error.line,
                    error.column,
                    error.message,
                    f"{error.hint} (Checked against the data contract: the warehouse has no "
                    f"{database}.user_profile yet, so catalogue tag columns are not known.)".lstrip(),
                )
            report.errors.append(error)
    return report


def load_valid_segments(directory: Path = SEGMENTS_DIR, client=None, database: str = MARTS) -> list[SegmentDefinition]:
    """The segments that pass validation, logging each invalid one (what a scheduled run should evaluate)."""
    if client is None:
        from nightshift.warehouse import get_client

        client = get_client()
    report = validate_all(directory, client, database)
    for error in report.errors:
        logging.getLogger(__name__).warning("segment skipped: %s", error)
    return report.valid
