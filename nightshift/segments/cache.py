"""Stored segment bitmaps, so previews answer from bitmaps instead of rescanning the profile.

Overlaps need every other segment's members. Tag combinations are bitmap operations already; the others (profile
conditions, SQL with joins) take a scan of the marts, which at 10M people is seconds, not milliseconds. Their
bitmaps are kept under a fingerprint of (the segment's query, the exact data of the marts tables: table UUIDs, rows,
block numbers and data versions per partition), so a stored bitmap is used only while neither the definition nor
the marts have changed:

- `audience.segment_bitmaps`: the nightly segments stage stores every segment's members of the night (the ones it
  computed in Spark). A preview the next morning overlaps with shipped segments by reading these, without a scan.
- `ops.segment_bitmap_cache` (opt-in per preview): bitmaps a preview built itself, for segments edited since the
  night (an analyst iterating on one segment recomputes only what changed).

The segment being previewed is a tag combination computed live, or read the same way when it is stored.
"""

from __future__ import annotations

import hashlib
from datetime import date

from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, PROFILE, PROFILE_SCAN, TAG_BITMAPS, SegmentPlan
from nightshift.segments.schema import MARTS
from nightshift.segments.validate import SegmentDefinition
from nightshift.warehouse.schema import SEGMENT_BITMAP_CACHE_TABLE, ensure_tables

CACHE_TABLE = SEGMENT_BITMAP_CACHE_TABLE
NIGHTLY_TABLE = "audience.segment_bitmaps"
MEMBERSHIP_TABLE = "audience.segment_membership"


def marts_version(client, database: str) -> str:
    """Changes whenever any marts table is rebuilt (its UUID), gets or loses rows (row count, highest block number) or
    is mutated (lowest data version of a partition), but not when the engine merges parts in the background: a
    merged part keeps its sources' block range and lowest data version (active part names would change)."""
    (version,) = client.query(
        "SELECT toString(cityHash64(groupArray(key))) FROM (SELECT concat(toString(t.uuid), ':', p.partition_id, ':', "
        "toString(sum(p.rows)), ':', toString(max(p.max_block_number)), ':', toString(min(p.data_version))) AS key "
        "FROM system.parts AS p INNER JOIN system.tables AS t ON t.database = p.database AND t.name = p.table "
        "WHERE p.database = {db:String} AND p.active GROUP BY t.uuid, p.partition_id ORDER BY key)",
        parameters={"db": database},
    ).result_rows[0]
    return version


def _fingerprint(version: str, plan: SegmentPlan) -> str:
    return hashlib.sha256(f"{version}\n{plan.method}\n{plan.expression}".encode()).hexdigest()[:32]


def _read(fingerprint: str) -> str:
    # groupBitmapMerge folds duplicates a ReplacingMergeTree may hold before it merges
    return f"(SELECT groupBitmapMergeState(bitmap) FROM {CACHE_TABLE} WHERE fingerprint = '{fingerprint}')"


def _needs_scan(plan: SegmentPlan) -> bool:
    return plan.method != TAG_BITMAPS and not plan.cached


def nightly_fingerprint(version: str, definition: SegmentDefinition, database: str) -> str:
    """What a stored nightly bitmap is valid for: the marts' data and the segment's query as it runs (its plan
    follows from these two, so the preview need not plan every other segment to look their bitmaps up)."""
    return hashlib.sha256(f"{version}\n{database}\n{definition.sql}".encode()).hexdigest()[:32]


def store_nightly_bitmaps(
    client,
    run_date: date,
    definitions: list[SegmentDefinition],
    database: str = MARTS,
    membership: str = MEMBERSHIP_TABLE,
) -> int:
    """Store the members of `run_date` (from `audience.segment_membership`) of every segment as one bitmap under
    its fingerprint; a segment without members gets an empty bitmap. Returns the count.

    Tag combinations too: a preview then reads every other segment in one pass over these rows instead of one
    bitmap expression each."""
    ensure_tables(client, NIGHTLY_TABLE)
    version = marts_version(client, database)
    wanted = [(d.name, nightly_fingerprint(version, d, database)) for d in definitions]
    if not wanted:
        return 0
    # LEFT JOIN: a segment with no member row keeps the empty bitmap state (the column's default)
    client.command(
        f"INSERT INTO {NIGHTLY_TABLE} (run_date, segment, fingerprint, members, bitmap) "
        "SELECT {day:Date}, wanted.name, wanted.fingerprint, bitmapCardinality(found.bitmap), found.bitmap "
        "FROM (SELECT item.1 AS name, item.2 AS fingerprint "
        "      FROM (SELECT arrayJoin({wanted:Array(Tuple(String, String))}) AS item)) AS wanted "
        "LEFT JOIN (SELECT toString(segment) AS name, groupBitmapState(toUInt32(one_id)) AS bitmap "
        f"          FROM {membership} WHERE run_date = {{day:Date}} GROUP BY segment) AS found "
        "ON found.name = wanted.name",
        parameters={"day": run_date, "wanted": wanted},
        settings={"join_use_nulls": 0},
    )
    return len(wanted)


def nightly_read(fingerprint: str) -> str:
    """The stored bitmap of a fingerprint (the latest night's, should two nights share marts and definition)."""
    return (
        f"(SELECT groupBitmapMergeState(bitmap) FROM (SELECT bitmap FROM {NIGHTLY_TABLE} "
        f"WHERE fingerprint = '{fingerprint}' ORDER BY run_date DESC LIMIT 1))"
    )


def stored_tonight(client, definitions: list[SegmentDefinition], database: str = MARTS) -> dict[str, str]:
    """Segment name -> fingerprint, for the segments whose bitmap was stored for exactly this definition and these
    marts."""
    if not definitions:
        return {}
    ensure_tables(client, NIGHTLY_TABLE)
    version = marts_version(client, database)
    wanted = {d.name: nightly_fingerprint(version, d, database) for d in definitions}
    stored = {
        fingerprint
        for (fingerprint,) in client.query(
            f"SELECT DISTINCT fingerprint FROM {NIGHTLY_TABLE} WHERE fingerprint IN {{fps:Array(String)}}",
            parameters={"fps": list(wanted.values())},
        ).result_rows
    }
    return {name: fingerprint for name, fingerprint in wanted.items() if fingerprint in stored}


def stored_plan(name: str, method: str, fingerprint: str) -> SegmentPlan:
    """The segment read from its stored nightly bitmap."""
    return SegmentPlan(name, method, nightly_read(fingerprint), cached=True, nightly_fingerprint=fingerprint)


def cached_plans(client, plans: list[SegmentPlan], database: str) -> list[SegmentPlan]:
    """The plans with every segment that still needs a scan read from the cache, building the missing bitmaps first.

    Missing profile-condition bitmaps are built together in ONE scan of the profile; SQL segments one query each.
    """
    ensure_tables(client, CACHE_TABLE)
    version = marts_version(client, database)
    wanted = {plan.name: _fingerprint(version, plan) for plan in plans if _needs_scan(plan)}
    present = {
        fingerprint
        for (fingerprint,) in client.query(
            f"SELECT DISTINCT fingerprint FROM {CACHE_TABLE} WHERE fingerprint IN {{fps:Array(String)}}",
            parameters={"fps": list(wanted.values()) or [""]},
        ).result_rows
    }
    missing = [plan for plan in plans if plan.name in wanted and wanted[plan.name] not in present]
    scans = [plan for plan in missing if plan.method == PROFILE_SCAN]
    if scans:
        items = ", ".join(
            f"('{wanted[p.name]}', '{p.name}', groupBitmapStateIf(toUInt32(one_id), {p.member_condition('')}))"
            for p in scans
        )
        client.command(
            f"INSERT INTO {CACHE_TABLE} (fingerprint, segment, built_at, bitmap) SELECT item.1, item.2, now(), "
            f"item.3 FROM (SELECT [{items}] AS items FROM `{database}`.{PROFILE}) ARRAY JOIN items AS item"
        )
    for plan in missing:
        if plan.method != PROFILE_SCAN:
            client.command(
                f"INSERT INTO {CACHE_TABLE} (fingerprint, segment, built_at, bitmap) "
                f"SELECT '{wanted[plan.name]}', '{plan.name}', now(), {plan.expression}",
                settings=CLICKHOUSE_SEGMENT_SETTINGS,
            )
    return [
        SegmentPlan(plan.name, plan.method, _read(wanted[plan.name]), cached=True) if plan.name in wanted else plan
        for plan in plans
    ]
