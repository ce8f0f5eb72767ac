"""Ingest stage: load each source's landing files of the run date into `raw.<source>__<entity>`.

Airflow maps one task per source over `nightshift.ingest.day.sources_for(run_date, settings)` and calls
`run_source`; `nightshift run` calls `run` (all sources). Both summarise the files that
`nightshift.ingest.day.ingest_day` loaded as a StageResult.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from nightshift.ingest.day import ingest_day, sources_for
from nightshift.stages.context import StageContext, StageResult

STAGE = "ingest"


def _result(run_date: date, rows: list[dict], empty_message: str) -> StageResult:
    result = StageResult(stage=STAGE, run_date=run_date)
    if not rows:
        result.summary = empty_message
        return result
    statuses = Counter(row["status"] for row in rows)
    reasons: Counter = Counter()
    for row in rows:
        result.rows[row["source_file"]] = row["loaded"]
        reasons.update(row["quarantined_by_reason"])
    totals = {key: sum(row[key] for row in rows) for key in ("lines", "loaded", "duplicates", "quarantined")}
    by_reason = ", ".join(f"{code} {n}" for code, n in sorted(reasons.items())) or "none"
    result.summary = (
        f"{len(rows)} files ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}): {totals['lines']} lines, "
        f"{totals['loaded']} loaded, {totals['duplicates']} duplicates, {totals['quarantined']} quarantined "
        f"({by_reason})"
    )
    return result


def run_source(ctx: StageContext, source: str) -> StageResult:
    """One source for the context's run date (one Airflow mapped task)."""
    rows = ingest_day(ctx.run_date, source, ctx.settings, client=ctx.client)
    return _result(ctx.run_date, rows, f"no landing files for source {source} on {ctx.run_date}; nothing to do")


def run(ctx: StageContext) -> StageResult:
    """Every source with landing files for the run date."""
    names = sources_for(ctx.run_date, ctx.settings)
    if not names:
        return _result(
            ctx.run_date, [], f"no landing files for {ctx.run_date} under {ctx.settings.landing_dir}; nothing to do"
        )
    rows = []
    for name in names:
        rows += ingest_day(ctx.run_date, name, ctx.settings, client=ctx.client)
    return _result(ctx.run_date, rows, f"no files for {ctx.run_date}; nothing to do")
