"""Segments stage: validate every segment file and evaluate the valid ones in Spark.

Contract: reads the marts tables the valid segments reference (always `marts.user_profile`; e.g. `marts.user_tags`
when a segment joins it), exported to the lake as Parquet by ClickHouse. Writes, replacing the run date's partition:
- `audience.segment_membership` (run_date, segment, one_id);
- `audience.segment_changes` (run_date, segment, previous_date, members, entered, exited): who entered and left
  each segment since its previous run;
- `audience.segment_bitmaps`: the members of every segment that a preview would have to scan for, as one bitmap
  under the fingerprint of (definition, marts data), which `segment preview` reads for its overlaps;
- the lake copies of the marts it read (`<lake>/user_profile/run_date=D`, ...) and the membership
  (`<lake>/segment_membership/run_date=D`), which the audiences stage reads next.

Segments are validated against the live warehouse schema. An invalid segment or plan is skipped and listed in the
summary; it never stops the valid ones. Uploaded lists (`segments/uploads/<name>.csv`) are matched through the
identity map as of the run date (`nightshift.uploads`) and join the membership under their names
(`audience.upload_members`, `upload_matches`, `upload_unmatched`); an unusable list is recorded and skipped.
"""

from __future__ import annotations

import logging
from datetime import date

from nightshift.lake import dataset_path, lake_to_table, table_to_lake
from nightshift.segments.cache import NIGHTLY_TABLE, store_nightly_bitmaps
from nightshift.segments.files import SEGMENTS_DIR
from nightshift.segments.schema import MARTS, warehouse_schema
from nightshift.segments.validate import validate_all
from nightshift.stages.context import StageContext, StageResult
from nightshift.uploads.nightly import UPLOAD_TABLES, match_uploads
from nightshift.warehouse.partitions import reset_partitions, table_exists

log = logging.getLogger(__name__)

OUTPUT_TABLES = ("audience.segment_membership", "audience.segment_changes", NIGHTLY_TABLE, *UPLOAD_TABLES)
# Per segment: members on the run date, and who entered / exited since the segment's previous run.
CHANGES_SQL = """
WITH previous AS (
    SELECT segment, max(run_date) AS previous_date
    FROM audience.segment_membership
    WHERE run_date < {d:Date} AND segment IN {names:Array(String)}
    GROUP BY segment
)
SELECT
    segment,
    previous_date,
    bitmapCardinality(now_in),
    bitmapAndnotCardinality(now_in, before_in),
    bitmapAndnotCardinality(before_in, now_in)
FROM (
    SELECT
        m.segment AS segment,
        any(previous.previous_date) AS previous_date,
        groupBitmapStateIf(toUInt32(m.one_id), m.run_date = {d:Date}) AS now_in,
        groupBitmapStateIf(toUInt32(m.one_id), m.run_date != {d:Date}) AS before_in
    FROM audience.segment_membership AS m
    LEFT JOIN previous ON previous.segment = m.segment
    WHERE m.segment IN {names:Array(String)}
        AND (m.run_date = {d:Date} OR m.run_date = previous.previous_date)
    GROUP BY m.segment
)
"""
UPLOAD_MEMBERS_SQL = (
    "SELECT toString(upload) AS segment, toInt64(one_id) AS one_id FROM audience.upload_members "
    "WHERE run_date = toDate('{d}')"
)
CHANGES_COLUMNS = ["run_date", "segment", "previous_date", "members", "entered", "exited"]


def export_sql(table: str, columns: dict[str, str], database: str = MARTS) -> str:
    """SELECT for a marts table's Parquet copy: Spark has no unsigned 64-bit type, so UInt64 ids become Int64."""
    select = ", ".join(
        f"toInt64(`{name}`) AS `{name}`" if column_type == "UInt64" else f"`{name}`"
        for name, column_type in columns.items()
    )
    return f"SELECT {select} FROM `{database}`.`{table}`"


def segment_changes(client, run_date: date, names: list[str]) -> list[list]:
    """Rows of audience.segment_changes for `names` (zeros for a segment without members on either date)."""
    rows = client.query(
        CHANGES_SQL, parameters={"d": run_date, "names": names}, settings={"join_use_nulls": 1}
    ).result_rows
    found = {row[0]: row for row in rows}
    changes = []
    for name in names:
        _, previous, members, entered, exited = found.get(name, (name, None, 0, 0, 0))
        changes.append([run_date, name, previous, int(members), int(entered), int(exited)])
    return changes


def run(ctx: StageContext) -> StageResult:
    client = ctx.client
    reset_partitions(client, ctx.run_date, OUTPUT_TABLES)
    if not table_exists(client, "marts.user_profile"):
        return StageResult("segments", ctx.run_date, summary="marts.user_profile does not exist yet: nothing to do")

    report = validate_all(SEGMENTS_DIR, client)  # against the live marts columns
    for error in report.errors:
        log.warning("segment skipped: %s", error)
    definitions = report.valid
    uploads = match_uploads(client, ctx.run_date, {d.name for d in definitions}, SEGMENTS_DIR / "uploads")
    names = sorted({d.name for d in definitions} | {match.name for match in uploads.matches})

    lake, schema = ctx.settings.lake_root, warehouse_schema(client)
    tables = sorted({"user_profile", *(table for d in definitions for table in d.tables)})
    paths = {table: dataset_path(lake, table, ctx.run_date) for table in tables}
    exported = {table: table_to_lake(client, export_sql(table, schema[table]), paths[table]).rows for table in tables}
    membership_path = dataset_path(lake, "segment_membership", ctx.run_date)

    from pyspark.sql import functions as F

    from nightshift.spark import get_spark, session_settings
    from spark_jobs.segments import PEOPLE_SCALE_JOINS, materialise_segments

    spark = get_spark("nightshift-segments", ctx.settings)
    frames = {table: spark.read.parquet(path) for table, path in paths.items()}
    membership = materialise_segments(spark, frames, definitions)
    if any(match.members for match in uploads.matches):
        uploads_path = dataset_path(lake, "upload_members", ctx.run_date)
        table_to_lake(client, UPLOAD_MEMBERS_SQL.format(d=ctx.run_date.isoformat()), uploads_path)
        membership = membership.unionByName(spark.read.parquet(uploads_path))
    membership = membership.select(F.lit(ctx.run_date).alias("run_date"), "segment", "one_id")
    with session_settings(spark, PEOPLE_SCALE_JOINS):
        membership.coalesce(1).write.mode("overwrite").parquet(membership_path)
    loaded = lake_to_table(client, membership_path, "audience.segment_membership")

    # tonight's members as bitmaps, so tomorrow's previews overlap with these segments without scanning the marts
    stored = store_nightly_bitmaps(client, ctx.run_date, definitions)
    changes = segment_changes(client, ctx.run_date, names) if names else []
    if changes:
        client.insert("audience.segment_changes", changes, column_names=CHANGES_COLUMNS)

    summary = ", ".join(f"{name}: {members} (+{entered} -{exited})" for _, name, _, members, entered, exited in changes)
    summary = summary or "no valid segments"
    if uploads.matches or uploads.errors:
        summary += f"; uploads: {uploads.summary()}"
    if report.errors:
        skipped = ", ".join(sorted({error.segment for error in report.errors}))
        summary += f"; {len(report.errors)} invalid segment(s) skipped: {skipped} (see `nightshift segment validate`)"
    return StageResult(
        "segments",
        ctx.run_date,
        rows={
            **{f"lake.{table}": rows for table, rows in exported.items()},
            "audience.segment_membership": loaded.rows,
            "audience.segment_changes": len(changes),
            NIGHTLY_TABLE: stored,
        },
        outputs={
            **{f"{table}_parquet": path for table, path in paths.items()},
            "membership_parquet": membership_path,
        },
        summary=summary,
    )
