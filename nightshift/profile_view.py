"""The single-person profile view: everything the warehouse knows about one one_id, for analysts and support.

`show_profile()` prints five sections with rich: the person's app profile (marts.user_profile), identities
(identity.identity_map), current tags with since-when, earlier values and removed tags (marts.user_tags + the tag
history snapshot, snapshots.user_tag_history), the latest events of every touchpoint
(intermediate.int_activity_events_unioned) and the latest orders (through the person's app accounts). Only the
identity map is required; a section whose table was not built yet says so instead of failing, so the view also
works on a partly built installation.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from nightshift.errors import NightshiftError
from nightshift.settings import Settings
from nightshift.warehouse.partitions import table_exists

IDENTITY_MAP = "identity.identity_map"
USER_PROFILE = "marts.user_profile"
USER_TAGS = "marts.user_tags"
TAG_HISTORY = "snapshots.user_tag_history"
ACTIVITY = "intermediate.int_activity_events_unioned"  # every touchpoint, resolved to one_id
ORDERS = "staging.stg_orders__orders"
DEFAULT_RECENT = 10
EXAMPLE_QUERY = 'nightshift sql "SELECT one_id FROM marts.user_profile LIMIT 5"'


@dataclass(frozen=True)
class Section:
    title: str
    table: str  # the warehouse table the section reads; skipped with a note when it does not exist
    sql: str


def _sections(recent: int, has_history: bool) -> list[Section]:
    # Orders are found through the person's app accounts: they carry app_user_id, not one_id.
    app_accounts = f"(SELECT id_value FROM {IDENTITY_MAP} WHERE one_id = {{one_id:UInt64}} AND id_type = 'app_user_id')"
    return [
        Section(
            "App profile",
            USER_PROFILE,
            f"SELECT app_user_id, phone, os, registered_at, profile_date FROM {USER_PROFILE} "
            "WHERE one_id = {one_id:UInt64}",
        ),
        Section(
            "Identities",
            IDENTITY_MAP,
            f"SELECT id_type, id_value, first_seen_date, last_seen_date FROM {IDENTITY_MAP} "
            "WHERE one_id = {one_id:UInt64} ORDER BY id_type, id_value",
        ),
        Section("Tags (since = first run date of the current value)", USER_TAGS, _tags_sql(has_history)),
        Section(
            f"Last {recent} events, all touchpoints (times in UTC)",
            ACTIVITY,
            "SELECT event_at, touchpoint, event_name, coalesce(sku_id, search_keyword, event_ref) AS detail "
            f"FROM {ACTIVITY} WHERE one_id = {{one_id:UInt64}} ORDER BY event_at DESC, event_ref LIMIT {recent}",
        ),
        Section(
            f"Last {recent} orders (times in UTC)",
            ORDERS,
            "SELECT created_at, order_id, order_type, order_status, pay_amount_fen / 100 AS pay_amount_yuan, "
            f"sales_channel FROM {ORDERS} WHERE app_user_id IN {app_accounts} "
            f"ORDER BY created_at DESC, order_id LIMIT {recent}",
        ),
    ]


def _tags_sql(has_history: bool) -> str:
    """Current tags; with the history snapshot also since when each value holds, earlier values, removed tags."""
    if not has_history:
        return (
            "SELECT tag_code, tag_value, NULL AS since_date, '' AS earlier_values, computed_date "
            f"FROM {USER_TAGS} WHERE one_id = {{one_id:UInt64}} ORDER BY tag_code"
        )
    # One query. The snapshot's open period gives "since" (a null value there means the tag was removed on
    # that run date, so removed tags are listed too); closed periods, newest first, give the earlier values.
    return f"""
        WITH current_tags AS (
            SELECT tag_code, tag_value, computed_date FROM {USER_TAGS} WHERE one_id = {{one_id:UInt64}}
        ),
        history AS (
            SELECT toString(tag_code) AS tag_code, tag_value, dbt_valid_from, dbt_valid_to
            FROM {TAG_HISTORY} WHERE one_id = {{one_id:UInt64}}
        ),
        open_periods AS (
            SELECT tag_code, any(tag_value) AS tag_value, any(dbt_valid_from) AS since_date
            FROM history WHERE dbt_valid_to IS NULL GROUP BY tag_code
        ),
        earlier AS (
            SELECT tag_code,
                   arrayStringConcat(groupArray(concat(ifNull(tag_value, '(none)'), ' ', toString(dbt_valid_from),
                                                       '..', toString(dbt_valid_to))), '; ') AS earlier_values
            FROM (SELECT * FROM history WHERE dbt_valid_to IS NOT NULL ORDER BY dbt_valid_from DESC)
            GROUP BY tag_code
        ),
        tags AS (
            SELECT toString(tag_code) AS tag_code, toNullable(tag_value) AS tag_value,
                   toNullable(computed_date) AS computed_date
            FROM current_tags
            UNION ALL
            SELECT tag_code, NULL, NULL FROM open_periods
            WHERE tag_value IS NULL AND tag_code NOT IN (SELECT toString(tag_code) FROM current_tags)
        )
        SELECT tags.tag_code AS tag_code, ifNull(tags.tag_value, '(removed)') AS tag_value,
               open_periods.since_date AS since_date, ifNull(earlier.earlier_values, '') AS earlier_values,
               tags.computed_date AS computed_date
        FROM tags
        LEFT JOIN open_periods ON open_periods.tag_code = tags.tag_code
        LEFT JOIN earlier ON earlier.tag_code = tags.tag_code
        ORDER BY tag_code
        SETTINGS join_use_nulls = 1
    """


def _render(console: Console, title: str, result) -> None:
    table = Table(*result.column_names, title=title, title_justify="left")
    for row in result.result_rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)
    if not result.result_rows:
        console.print("  (none)")


def _check_person(client, one_id: int) -> None:
    if not table_exists(client, IDENTITY_MAP):
        raise NightshiftError(
            f"{IDENTITY_MAP} does not exist in this warehouse, so no person can be shown. Run the pipeline first "
            "(nightshift run --date YYYY-MM-DD), or check NIGHTSHIFT_HOME / NIGHTSHIFT_CLICKHOUSE_URL."
        )
    found = client.query(
        f"SELECT count() FROM {IDENTITY_MAP} WHERE one_id = {{one_id:UInt64}}", parameters={"one_id": one_id}
    ).result_rows[0][0]
    if not found:
        raise NightshiftError(
            f"one_id {one_id} does not exist: {IDENTITY_MAP} links no identifier to it. "
            f"List some existing people with: {EXAMPLE_QUERY}"
        )


def show_profile(one_id: int, settings: Settings, console: Console, recent: int = DEFAULT_RECENT) -> None:
    """Print one person's profile: app profile, identities, tags with history, last `recent` events and orders.

    Raises NightshiftError when the person (or the identity map) does not exist.
    """
    from nightshift.warehouse import get_client

    if one_id < 0:
        raise NightshiftError(f"one_id must be a non-negative integer, got {one_id}. Try: {EXAMPLE_QUERY}")
    client = get_client(settings)
    _check_person(client, one_id)
    console.rule(f"Person one_id {one_id}")
    parameters = {"one_id": one_id}
    for section in _sections(recent, has_history=table_exists(client, TAG_HISTORY)):
        if not table_exists(client, section.table):
            console.print(f"[yellow]{section.title}[/]: {section.table} is not built yet in this warehouse.")
            continue
        _render(console, section.title, client.query(section.sql, parameters=parameters))
