"""A cache of segment bitmaps in the warehouse, so previews answer from bitmaps instead of rescanning the profile.

Overlaps need every other segment's members. Tag combinations are bitmap operations already; the others (profile
conditions, SQL with joins) take a scan of the marts. Their bitmaps are stored in `ops.segment_bitmap_cache` under
a fingerprint of (the segment's query, the exact data of the marts tables: table UUIDs and active part names), so a
cached bitmap is used only while neither the definition nor the marts have changed. The first preview after a
nightly build pays for the scans; later ones (an analyst editing one segment) recompute only what changed.
"""

from __future__ import annotations

import hashlib

from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, PROFILE, PROFILE_SCAN, TAG_BITMAPS, SegmentPlan
from nightshift.warehouse.schema import SEGMENT_BITMAP_CACHE_TABLE, ensure_tables

CACHE_TABLE = SEGMENT_BITMAP_CACHE_TABLE


def marts_version(client, database: str) -> str:
    """Changes whenever any marts table is rebuilt or gets new data (UUIDs and active part names)."""
    (version,) = client.query(
        "SELECT toString(cityHash64(groupArray(key))) FROM (SELECT concat(toString(t.uuid), ':', p.name) AS key "
        "FROM system.parts AS p INNER JOIN system.tables AS t ON t.database = p.database AND t.name = p.table "
        "WHERE p.database = {db:String} AND p.active ORDER BY key)",
        parameters={"db": database},
    ).result_rows[0]
    return version


def _fingerprint(version: str, plan: SegmentPlan) -> str:
    return hashlib.sha256(f"{version}\n{plan.method}\n{plan.expression}".encode()).hexdigest()[:32]


def _read(fingerprint: str) -> str:
    # groupBitmapMerge folds duplicates a ReplacingMergeTree may hold before it merges
    return f"(SELECT groupBitmapMergeState(bitmap) FROM {CACHE_TABLE} WHERE fingerprint = '{fingerprint}')"


def cached_plans(client, plans: list[SegmentPlan], database: str) -> list[SegmentPlan]:
    """The plans with every non-tag segment read from the cache, building the missing bitmaps first.

    Missing profile-condition bitmaps are built together in ONE scan of the profile; SQL segments one query each.
    """
    ensure_tables(client, CACHE_TABLE)
    version = marts_version(client, database)
    wanted = {plan.name: _fingerprint(version, plan) for plan in plans if plan.method != TAG_BITMAPS}
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
