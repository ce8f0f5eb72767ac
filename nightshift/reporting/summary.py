"""`summary.md`: the night in 10-15 lines of markdown, for a chat message (WeCom / DingTalk robots) or an e-mail
body. Loss alerts come first when there are any; every figure is a section's headline figure."""

from __future__ import annotations

from nightshift.reporting.html import figure
from nightshift.reporting.model import Report, Section


def _get(section: Section | None, label: str) -> str:
    if section is None or label not in section.headline:
        return "-"
    return figure(section.headline[label])


def _find(report: Report, key: str) -> Section | None:
    return next((section for section in report.sections if section.key == key), None)


def _stage_line(report: Report) -> str:
    run = _find(report, "run")
    if run is None or not run.headline:
        return "no stage has run for this date yet"
    failed = [row[0] for row in run.tables[0].rows if row[1] != "success"]
    if failed:
        return f"**{len(failed)} of {len(run.tables[0].rows)} stages failed: {', '.join(failed)}**"
    return f"all {_get(run, 'stages')} stages succeeded in {_get(run, 'seconds')} s"


def render_summary(report: Report, link: str) -> str:
    alerts, ingestion = _find(report, "loss_alerts"), _find(report, "ingestion")
    quality, identity, segments = _find(report, "quality"), _find(report, "identity"), _find(report, "segments")
    campaigns, exports = _find(report, "campaigns"), _find(report, "exports")
    reconciliation, measurement = _find(report, "reconciliation"), _find(report, "measurement")
    lines = [f"## Nightshift {report.run_date}: {_stage_line(report)}", ""]
    if alerts is not None and alerts.alarm:
        worst = alerts.tables[0].rows[0]
        lines.append(
            f"**LOSS ALERTS: {_get(alerts, 'alerts')} ({_get(alerts, 'critical')} critical), "
            f"{_get(alerts, 'money at risk (yuan)')} yuan at risk**; first: {worst[0]} {worst[1]} ({worst[2]})"
        )
    top_reason = ""
    if ingestion is not None and ingestion.tables[1].rows:
        reason, count = ingestion.tables[1].rows[0]
        top_reason = f" (most: {reason} {figure(count)})"
    lines += [
        f"- Ingestion: {_get(ingestion, 'files')} files, {_get(ingestion, 'lines')} lines; "
        f"{_get(ingestion, 'loaded')} loaded, {_get(ingestion, 'duplicates')} duplicates, "
        f"{_get(ingestion, 'quarantined')} quarantined{top_reason}",
        f"- Data quality: {_get(quality, 'dbt tests passed')} of {_get(quality, 'dbt tests')} dbt tests passed; "
        f"{_get(quality, 'late rows')} late rows, {_get(quality, 'drift rows')} drift rows",
        f"- Identity: {_get(identity, 'people')} people; {_get(identity, 'merges')} merges, "
        f"{_get(identity, 'splits')} splits",
        f"- Segments: {_get(segments, 'segments')} segments, {_get(segments, 'members')} members; "
        f"+{_get(segments, 'entered')} / -{_get(segments, 'exited')}",
        f"- Campaigns: {_get(campaigns, 'campaigns')} campaigns, {_get(campaigns, 'candidates')} candidates, "
        f"{_get(campaigns, 'contacted')} contacted, {_get(campaigns, 'holdout')} holdout; "
        f"cost {_get(campaigns, 'cost (yuan)')} yuan",
        f"- Exports: {_get(exports, 'files')} files, {_get(exports, 'rows')} rows "
        f"(last night {_get(exports, 'rows last night')})",
        f"- Reconciliation: {_get(reconciliation, 'keys')} keys, {_get(reconciliation, 'keys to act on')} to act on; "
        f"planned {_get(reconciliation, 'planned (yuan)')} yuan, granted {_get(reconciliation, 'granted (yuan)')} "
        f"yuan; {_get(reconciliation, 'make-up orders')} make-up orders",
    ]
    if measurement is not None:
        lines.append(f"- Measurement: {_get(measurement, 'rows')} rows in marts.campaign_measurement")
    lines += ["", f"Report: {link}"]
    return "\n".join(lines) + "\n"
