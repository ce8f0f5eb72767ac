"""Export stage: one CSV per segment and one per campaign and channel for the run date, each with a manifest,
under NIGHTSHIFT_EXPORTS/<date>/.

Segment files (`<segment>.csv`) are kept for analysts. Campaign files (`campaign__<id>__<channel>.csv`, written by
`nightshift.campaigns.export`) are what delivery channels send: the audience without holdout, one row per person,
with the message template's parameters filled from the profile. They stay here until a dedicated exports
capability replaces them.

Files are sorted by one_id and carry no timestamps, so re-running the same date writes identical bytes. The
previous contents of the date's directory are replaced (a segment that disappeared leaves no stale file).
"""

from __future__ import annotations

import shutil

from nightshift.campaigns.export import export_campaigns
from nightshift.files import write_with_manifest
from nightshift.pipeline import StageContext, StageResult
from nightshift.tables import table_exists

EXPORT_SQL = """
SELECT m.one_id AS one_id, coalesce(p.phone, '') AS phone
FROM audience.segment_membership AS m
LEFT JOIN marts.user_profile AS p ON p.one_id = m.one_id
WHERE m.run_date = {d:Date} AND m.segment = {segment:String}
ORDER BY one_id
"""
EXPORT_COLUMNS = ["one_id", "phone"]


def run(ctx: StageContext) -> StageResult:
    client = ctx.client
    out_dir = ctx.settings.exports_dir / ctx.run_date.isoformat()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    if not table_exists(client, "audience.segment_membership"):
        return StageResult("export", ctx.run_date, summary="no segment membership yet: nothing exported")

    segments = [
        row[0]
        for row in client.query(
            "SELECT DISTINCT segment FROM audience.segment_membership WHERE run_date = {d:Date} ORDER BY segment",
            parameters={"d": ctx.run_date},
        ).result_rows
    ]
    rows: dict[str, int] = {}
    outputs: dict[str, str] = {}
    for segment in segments:
        params = {"d": ctx.run_date, "segment": segment}
        data = client.raw_query(EXPORT_SQL, parameters=params, fmt="CSVWithNames")
        count = max(data.count(b"\n") - 1, 0)
        path = out_dir / f"{segment}.csv"
        manifest = write_with_manifest(
            path,
            data,
            count,
            {"segment": segment, "run_date": ctx.run_date.isoformat(), "columns": EXPORT_COLUMNS, "format": "csv"},
        )
        rows[path.name] = count
        outputs[f"{segment} csv"] = str(path)
        outputs[f"{segment} manifest"] = str(manifest)
    summary = f"{len(segments)} segment files in {out_dir}" if segments else "no segment members on this date"
    campaigns = export_campaigns(client, ctx.run_date, out_dir)
    rows.update(campaigns.rows)
    outputs.update(campaigns.outputs)
    return StageResult("export", ctx.run_date, rows=rows, outputs=outputs, summary=f"{summary}; {campaigns.summary}")
