"""The columns a segment may use: the warehouse's marts tables, or the data contract before they exist.

Segment SQL always says `marts.<table>`; `database` lets tests and benchmarks point the same definitions at an
isolated copy of the marts (their tables are looked up there, and queries are rewritten to read from there).
"""

from __future__ import annotations

from nightshift.contracts import USER_PROFILE_COLUMNS, USER_TAG_PERIODS_COLUMNS

MARTS = "marts"
# table -> column -> ClickHouse type
MartsSchema = dict[str, dict[str, str]]


def contract_schema() -> MartsSchema:
    """What we know before dbt has built anything: the guaranteed `marts.user_profile` columns (and the tag
    history's, which rule segments read)."""
    return {"user_profile": dict(USER_PROFILE_COLUMNS), "user_tag_periods": dict(USER_TAG_PERIODS_COLUMNS)}


def warehouse_schema(client, database: str = MARTS) -> MartsSchema:
    """Columns of every table in the marts database, from `system.columns` (empty when there are none)."""
    rows = client.query(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} ORDER BY table, position",
        parameters={"db": database},
    ).result_rows
    schema: MartsSchema = {}
    for table, column, column_type in rows:
        schema.setdefault(table, {})[column] = column_type
    return schema


def marts_schema(client=None, database: str = MARTS) -> MartsSchema:
    """The warehouse's marts columns; the contract for `user_profile` when the warehouse has no profile yet."""
    schema = warehouse_schema(client, database) if client is not None else {}
    if "user_profile" not in schema:
        schema = {**schema, **contract_schema()}
    return schema


# Boolean catalogue tags are stored as 'true' / 'false' in marts.user_tags and tag_bitmaps (their profile columns
# are UInt8 or Bool); see tag_value_expression in dbt_project/macros/tags.sql.
BOOLEAN_TAG_VALUES = frozenset({"true", "false"})
# tag code -> the values that have a bitmap
TagValues = dict[str, frozenset[str]]


def tag_codes(client, database: str = MARTS) -> TagValues:
    """Tag codes that have bitmaps (`marts.tag_bitmaps`) with their values; empty when that table does not exist.

    One small read (a row per tag value); the values tell boolean tags ('true'/'false') from the others.
    """
    exists = client.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'tag_bitmaps'",
        parameters={"db": database},
    ).result_rows[0][0]
    if not exists:
        return {}
    rows = client.query(
        f"SELECT tag_code, groupUniqArray(tag_value) FROM `{database}`.tag_bitmaps GROUP BY tag_code"
    ).result_rows
    return {code: frozenset(values) for code, values in rows}


def is_boolean_tag(tags: TagValues | set[str], code: str) -> bool:
    values = tags.get(code) if isinstance(tags, dict) else None
    return bool(values) and values <= BOOLEAN_TAG_VALUES
