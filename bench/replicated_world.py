"""A night at a scale the generator cannot reach in one process: a generated world's raw tables, copied.

    python -m bench --users 10000000 --base-users 1000000 --areas pipeline

`python -m bench` then generates and ingests --base-users people for real, and copies every source's raw table
N = round(users / base users) times before the later stages run (`replicate_raw_tables`), as `bench.profile_build`
copies the dbt graph's edge: copy k of every identifier field of the source catalog and every string record key is
a new value (`copy_expression`), so each copy is a world of its own people with the real world's exact
distributions. Identity resolution, the build and every later stage then run on N times the people.

Why: generating 10M people in one process failed on this machine (2026-12-07) after a peak of 22.7 GB resident,
in the ground truth's id table (pyarrow's 2 GB string offsets); the world is simulated in memory, day by day.

A copy's values must pass what the real ones pass, or later stages would do less work than on a real world:
- identifiers get `_k` appended, not profile_build's `~k`: WeChat's openid check and the export gate's token
  check both allow `_` (no generated id contains one followed by a copy number, so no copy meets a real id);
- a phone stays a valid mainland mobile number: its last eight digits move by k x 12,345,679 (mod 10^8), so the
  SMS and call files of the copies are written like the real ones. Unlike a suffix this can meet another real
  number: about 0.03% of a copy's phones do, per other copy (1M phones among the 3.7 billion of the generator's
  prefixes), and those people merge across copies;
- values the identity blocklist names (placeholder phones, the all-zero device id...) stay as they are: they
  identify nobody, and a changed placeholder would glue every copy's placeholder users into one oversize person.
"""

from __future__ import annotations

import time

from bench.profile_build import (
    BASE_DATABASE,
    base_name,
    catalog_id_fields,
    raw_identifier_columns,
    replicate,
    table_columns,
)

# Coprime with 10^8: copy k moves a number's last eight digits by k steps. The prefix stays, and the generator's
# prefixes take any eight digits after them as a valid mobile (nightshift.generate.ids.MOBILE_PREFIXES).
PHONE_STEP = 12_345_679
COPY_NOTE = (
    "copy k: identifiers and record keys + '_k', phones' last eight digits moved, blocklisted values as they are"
)
E164_MOBILE = r"^\+861[3-9][0-9]{9}$"


def source_raw_tables(client) -> dict[str, dict[str, str]]:
    """Raw table -> {identifier field -> id_type} for every source entity whose raw table exists."""
    from nightshift.sources.catalog import all_sources

    existing = {
        f"raw.{name}" for (name,) in client.query("select name from system.tables where database = 'raw'").result_rows
    }
    raw_tables = {entity.raw_table for source in all_sources().values() for entity in source.entities}
    return {table: catalog_id_fields(table) for table in sorted(raw_tables & existing)}


def blocklisted_condition(client, id_type: str, rules) -> tuple[str | None, list[str]]:
    """A ClickHouse condition on `{value}` that holds for the values the identity blocklist names for `id_type`,
    and the patterns it could not include (the engine's regular expressions (RE2) have no back-references: such a
    pattern's values are copied like any other id, and the bench prints which)."""
    from nightshift.ingest.sql import lit

    parts = []
    values = rules.blocked_values.get(id_type, ())
    if values:
        parts.append("{value} in (" + ", ".join(lit(value) for value in values) + ")")
    skipped = []
    for pattern in rules.blocked_patterns.get(id_type, ()):
        regex = lit(f"^(?:{pattern})$")
        try:
            client.query(f"select match('', {regex})")
        except Exception:  # the engine names the unsupported construct; the pattern is reported, not guessed at
            skipped.append(f"{id_type}: {pattern}")
            continue
        parts.append(f"match({{value}}, {regex})")
    return (" or ".join(parts) or None), skipped


def copy_expression(id_type: str | None, blocklisted: str | None) -> str:
    """Copy `{copy}` of the identifier `{value}` (a template for `replication_sql`): see the module's docstring."""
    from nightshift.ingest.sql import lit

    suffixed = "concat({value}, '_', toString({copy}))"
    copied = suffixed
    if id_type == "phone":
        moved = f"(toUInt64(substring({{value}}, 7)) + {{copy}} * {PHONE_STEP}) % 100000000"
        shifted = f"concat(substring({{value}}, 1, 6), leftPad(toString({moved}), 8, '0'))"
        copied = f"if(match({{value}}, {lit(E164_MOBILE)}), {shifted}, {suffixed})"
    return f"if({blocklisted}, {{value}}, {copied})" if blocklisted else copied


def replicate_raw_tables(
    client, copies: int, tables: dict[str, dict[str, str]] | None = None, rules=None
) -> tuple[float, dict[str, int], list[str]]:
    """Replace each raw table by `copies` copies of its rows (copy 0 = the real rows). `tables` (default: every
    source's, `source_raw_tables`) maps each to its identifier fields' id types; `rules` is the identity
    configuration whose blocklist stays (default: config/identity.yml). Returns (seconds, rows per table,
    blocklist patterns not applied). A table with no identifier column describes no people and stays as it is."""
    from nightshift.identity.config import load_identity_config

    started = time.perf_counter()
    rules = rules or load_identity_config()
    tables = source_raw_tables(client) if tables is None else tables
    blocklisted: dict[str, tuple[str | None, list[str]]] = {}
    copied: dict[str, dict[str, str]] = {}
    for table, id_types in tables.items():
        identifiers = raw_identifier_columns(table_columns(client, table), id_types)
        if not identifiers:
            continue
        for column in identifiers:
            id_type = id_types.get(column)
            if id_type and id_type not in blocklisted:
                blocklisted[id_type] = blocklisted_condition(client, id_type, rules)
            condition = blocklisted[id_type][0] if id_type else None
            copied.setdefault(table, {})[column] = copy_expression(id_type, condition)
    client.command(f"drop database if exists {BASE_DATABASE}")
    client.command(f"create database {BASE_DATABASE}")
    for table in copied:
        client.command(f"rename table {table} to {base_name(table)}")
    _, rows = replicate(client, list(copied), copies, stride=0, copied=copied)
    client.command(f"drop database {BASE_DATABASE}")
    not_applied = sorted({pattern for _, patterns in blocklisted.values() for pattern in patterns})
    return time.perf_counter() - started, rows, not_applied
