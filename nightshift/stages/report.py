"""Report stage: the morning report in NIGHTSHIFT_REPORTS/<date>/ (index.html, summary.md, a CSV per table,
nightly_report.txt), delivered by e-mail and group robot when configured. The work is in `nightshift.reporting`.

Every figure is read back from the warehouse (what actually landed), not from the stages' own return values. A
delivery that fails is reported in the summary, the outputs and the page, and never fails the run.
"""

from __future__ import annotations

from nightshift.reporting.outputs import INDEX, TEXT, write_report
from nightshift.stages.context import StageContext, StageResult


def run(ctx: StageContext) -> StageResult:
    written = write_report(ctx.client, ctx.settings, ctx.run_date)
    index = written.directory / INDEX
    outputs = {"report": str(index), "text_report": str(written.directory / TEXT)}
    outputs.update({f"delivery_{d.channel}": d.describe() for d in written.deliveries})
    summary = str(index)
    if written.deliveries:
        summary += "; delivery " + "; ".join(f"{d.channel} {d.describe()}" for d in written.deliveries)
    return StageResult("report", ctx.run_date, rows={"files": len(written.files)}, outputs=outputs, summary=summary)
