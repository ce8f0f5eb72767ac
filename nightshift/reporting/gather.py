"""Every section's figures for one run date, read back from the warehouse (what actually landed), never from the
stages' own return values. A table that does not exist yet (a first night, a stage not run) gives an empty section.

Money is stored in fen (1/100 yuan) and shown in yuan. Trends cover the TREND_DAYS nights up to the run date.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from nightshift.dbt_runner import artifact_run_date
from nightshift.reporting.model import Chart, Section, Table
from nightshift.warehouse.partitions import table_exists

TREND_DAYS = 14
FEN_PER_YUAN = 100


def yuan(fen: int) -> float:
    return round(fen / FEN_PER_YUAN, 2)


def _rows(client, table: str, sql: str, run_date: date, **settings) -> list[tuple]:
    if not table_exists(client, table):
        return []
    parameters = {"d": run_date, "since": run_date - timedelta(days=TREND_DAYS - 1)}
    return client.query(sql, parameters=parameters, settings=settings or None).result_rows


# ---------------------------------------------------------------------------------------------------------------
# Run summary: the latest execution of each stage on the run date (ops.stage_runs is append-only).
# ---------------------------------------------------------------------------------------------------------------

STAGE_RUNS_SQL = """
SELECT stage, argMax(status, finished_at), argMax(started_at, finished_at), max(finished_at),
       argMax(rows_json, finished_at), argMax(message, finished_at)
FROM ops.stage_runs WHERE run_date = {d:Date}
GROUP BY stage ORDER BY min(started_at)
"""


def run_summary(client, run_date: date) -> Section:
    rows = []
    for stage, status, started_at, finished_at, rows_json, message in _rows(
        client, "ops.stage_runs", STAGE_RUNS_SQL, run_date
    ):
        counts = json.loads(rows_json or "{}")
        seconds = round((finished_at - started_at).total_seconds(), 1)
        written = sum(int(value) for value in counts.values())
        detail = ", ".join(f"{name}={value}" for name, value in counts.items())
        rows.append((stage, status, started_at.strftime("%H:%M:%S"), seconds, written, detail, message))
    table = Table(
        "run__stages", "Stages (latest execution of each)",
        ["stage", "status", "started_utc", "seconds", "rows_written", "rows_by_output", "message"], rows,
    )  # fmt: skip
    headline = {}
    if rows:
        headline = {
            "stages": len(rows),
            "failed": sum(1 for row in rows if row[1] != "success"),
            "seconds": round(sum(row[3] for row in rows), 1),
            "rows written": sum(row[4] for row in rows),
        }
    charts = [Chart("Seconds per stage", "bars", [r[0] for r in rows], {"seconds": [r[3] for r in rows]})]
    return Section("run", "Run summary", headline, [table], charts if rows else [])


# ---------------------------------------------------------------------------------------------------------------
# Ingestion: the latest load of each (source, entity) of the day; lines = loaded + duplicates + quarantined (+ blank).
# ---------------------------------------------------------------------------------------------------------------

LATEST_BATCHES = """
    (run_date, source, entity, batch_id) IN (
        SELECT run_date, source, entity, argMax(batch_id, ingested_at) FROM ops.ingestion_summary
        WHERE run_date BETWEEN {since:Date} AND {d:Date} GROUP BY run_date, source, entity)
"""
INGESTION_BY_SOURCE_SQL = f"""
SELECT source, count() AS files, sum(lines) AS lines, sum(loaded) AS loaded, sum(duplicates) AS duplicates,
       sum(quarantined) AS quarantined, sumMap(quarantined_by_reason) AS quarantined_by_reason
FROM ops.ingestion_summary
WHERE run_date = {{d:Date}} AND {LATEST_BATCHES}
GROUP BY source
ORDER BY source
"""
INGESTION_TREND_SQL = f"""
SELECT run_date, count(), sum(loaded), sum(duplicates), sum(quarantined)
FROM ops.ingestion_summary
WHERE run_date BETWEEN {{since:Date}} AND {{d:Date}} AND {LATEST_BATCHES}
GROUP BY run_date ORDER BY run_date
"""
QUALITY_BY_SOURCE_SQL = f"""
SELECT source, sum(lines), sum(quarantined), sum(late_rows), sum(drift_rows),
       arrayStringConcat(arraySort(groupUniqArrayArray(drift_fields)), ' ')
FROM ops.ingestion_summary
WHERE run_date = {{d:Date}} AND {LATEST_BATCHES}
GROUP BY source ORDER BY source
"""


def ingestion_by_source(client, run_date: date) -> list[tuple]:
    """Per source, the latest ingestion of the day: (source, files, lines, loaded, duplicates, quarantined, reasons).

    lines = loaded + duplicates + quarantined (+ blank lines) holds per file; see ops.ingestion_summary.
    """
    return _rows(client, "ops.ingestion_summary", INGESTION_BY_SOURCE_SQL, run_date)


def ingestion(client, run_date: date) -> Section:
    by_source = ingestion_by_source(client, run_date)
    sources = Table(
        "ingestion__by_source", "Latest load of each source today",
        ["source", "files", "lines", "loaded", "duplicates", "quarantined"], [row[:6] for row in by_source],
    )  # fmt: skip
    reasons: dict[str, int] = {}
    for *_, by_reason in by_source:
        for code, count in by_reason.items():
            reasons[code] = reasons.get(code, 0) + int(count)
    quarantine = Table(
        "ingestion__quarantine_by_reason", "Quarantined lines by reason (rows are in raw.quarantine)",
        ["reason", "lines"], sorted(((code, n) for code, n in reasons.items() if n), key=lambda r: (-r[1], r[0])),
    )  # fmt: skip
    trend_rows = [
        (day.isoformat(), files, loaded, duplicates, quarantined)
        for day, files, loaded, duplicates, quarantined in _rows(
            client, "ops.ingestion_summary", INGESTION_TREND_SQL, run_date
        )
    ]
    trend = Table(
        "ingestion__trend", f"Last {TREND_DAYS} nights", ["run_date", "files", "loaded", "duplicates", "quarantined"],
        trend_rows,
    )  # fmt: skip
    headline = {}
    if by_source:
        headline = {name: sum(int(row[i]) for row in by_source) for i, name in enumerate(sources.columns) if i}
    charts = []
    if trend_rows:
        charts.append(
            Chart(
                "Loaded and quarantined lines per night", "trend", trend.column("run_date"),
                {"loaded": trend.column("loaded"), "quarantined": trend.column("quarantined")},
            )
        )  # fmt: skip
    if quarantine.rows:
        charts.append(Chart("Quarantine by reason", "bars", quarantine.column("reason"),
                            {"lines": quarantine.column("lines")}))  # fmt: skip
    return Section("ingestion", "Ingestion", headline, [sources, quarantine, trend], charts)


# ---------------------------------------------------------------------------------------------------------------
# Data quality: dbt's tests of the run date (run_results.json, when the last build was this date) and what
# ingestion rejected, flagged late or found drifting.
# ---------------------------------------------------------------------------------------------------------------

TEST_RESOURCE_TYPES = ("test", "unit_test")
QUARANTINE_ROWS_SQL = "SELECT count() FROM raw.quarantine WHERE _drop_date = {d:Date}"
# The export stage's quality gate (nightshift/deliveries/gate.py): failed expectations first.
EXPORT_GATE_SQL = """
SELECT campaign_id, expectation, target, success, unexpected, observed, why FROM audience.quality_gate
WHERE run_date = {d:Date} ORDER BY success, campaign_id, expectation, target
"""


def dbt_test_results(dbt_target: Path, run_date: date) -> list[tuple[str, str, str, str]] | None:
    """(resource type, test name, status, message) of every test in dbt's last run_results.json when that run was
    for `run_date`; None when no results of that date are recorded (dbt keeps only its last run's artifacts)."""
    path = dbt_target / "run_results.json"
    if not path.exists():
        return None
    results = json.loads(path.read_text(encoding="utf-8"))
    if artifact_run_date(results) != run_date.isoformat():
        return None
    tests = []
    for result in results.get("results", []):
        unique_id = result.get("unique_id", "")
        resource_type = unique_id.split(".", 1)[0]
        if resource_type in TEST_RESOURCE_TYPES:
            name = unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id
            tests.append((resource_type, name, str(result.get("status", "")), (result.get("message") or "")[:200]))
    return sorted(tests)


def _export_gate(client, run_date: date, docs: Path | None, headline: dict, notes: list[str]) -> Table:
    rows = _rows(client, "audience.quality_gate", EXPORT_GATE_SQL, run_date)
    if rows:
        headline["export gate campaigns"] = len({row[0] for row in rows})
        headline["export gate failed"] = len({row[0] for row in rows if not row[3]})
        if docs is not None and docs.exists():
            notes.append(f"Great Expectations Data Docs of the export gate: {docs}")
    return Table(
        "quality__export_gate", "Quality gate before export (a campaign with a failed expectation was withheld)",
        ["campaign_id", "expectation", "target", "success", "unexpected", "observed", "why"],
        [(c, e, t, bool(ok), n, observed, why) for c, e, t, ok, n, observed, why in rows],
    )  # fmt: skip


def data_quality(client, run_date: date, dbt_target: Path, gate_docs: Path | None = None) -> Section:
    tests = dbt_test_results(dbt_target, run_date)
    headline: dict[str, int] = {}
    notes = []
    tables = []
    if tests is None:
        notes.append(f"No dbt test results recorded for {run_date} (dbt keeps its last run in {dbt_target}).")
    else:
        by_status: dict[str, int] = {}
        for _, _, status, _ in tests:
            by_status[status] = by_status.get(status, 0) + 1
        headline["dbt tests"] = len(tests)
        headline["dbt tests passed"] = by_status.get("pass", 0)
        headline["dbt tests not passed"] = len(tests) - by_status.get("pass", 0)
        tables.append(Table("quality__dbt_tests_by_status", "dbt tests by status", ["status", "tests"],
                            sorted(by_status.items())))  # fmt: skip
        tables.append(Table("quality__dbt_tests_not_passed", "dbt tests that did not pass",
                            ["type", "test", "status", "message"], [t for t in tests if t[2] != "pass"]))  # fmt: skip
    by_source = [
        (source, lines, quarantined, round(100 * quarantined / lines, 2) if lines else 0.0, late, drift, fields)
        for source, lines, quarantined, late, drift, fields in _rows(
            client, "ops.ingestion_summary", QUALITY_BY_SOURCE_SQL, run_date
        )
    ]
    tables.append(
        Table(
            "quality__ingestion", "Ingestion checks per source (latest load)",
            ["source", "lines", "quarantined", "quarantined_pct", "late_rows", "drift_rows", "drift_fields"], by_source,
        )
    )  # fmt: skip
    quarantine_rows = _rows(client, "raw.quarantine", QUARANTINE_ROWS_SQL, run_date)
    if quarantine_rows and by_source:  # a date nothing was ingested for has no quarantine figure (not a zero)
        headline["quarantine rows"] = int(quarantine_rows[0][0])
    if by_source:
        headline["late rows"] = sum(int(row[4]) for row in by_source)
        headline["drift rows"] = sum(int(row[5]) for row in by_source)
    tables.append(_export_gate(client, run_date, gate_docs, headline, notes))
    return Section("quality", "Data quality", headline, tables, notes=notes)


# ---------------------------------------------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------------------------------------------

IDENTITY_SUMMARY_SQL = """
SELECT people, ids, edges, merges, splits, blocked_ids, largest_component FROM identity.identity_summary
WHERE run_date = {d:Date} ORDER BY people DESC LIMIT 1
"""
IDENTITY_TREND_SQL = """
SELECT run_date, max(people), max(merges), max(splits) FROM identity.identity_summary
WHERE run_date BETWEEN {since:Date} AND {d:Date} GROUP BY run_date ORDER BY run_date
"""
BLOCKED_SQL = """
SELECT reason, id_type, count() FROM identity.identity_blocked WHERE run_date = {d:Date}
GROUP BY reason, id_type ORDER BY reason, id_type
"""
MERGES_SQL = """
SELECT surviving_one_id, merged_one_id, merged_ids FROM identity.identity_merges WHERE run_date = {d:Date}
ORDER BY merged_ids DESC, surviving_one_id LIMIT 100
"""
SPLITS_SQL = """
SELECT original_one_id, new_one_id, moved_ids FROM identity.identity_splits WHERE run_date = {d:Date}
ORDER BY moved_ids DESC, original_one_id LIMIT 100
"""
IDENTITY_COLUMNS = ["people", "ids", "edges", "merges", "splits", "blocked ids", "largest person (ids)"]


def identity(client, run_date: date) -> Section:
    summary = _rows(client, "identity.identity_summary", IDENTITY_SUMMARY_SQL, run_date)
    headline = dict(zip(IDENTITY_COLUMNS, (int(v) for v in summary[0]), strict=True)) if summary else {}
    trend = Table(
        "identity__trend", f"Last {TREND_DAYS} nights", ["run_date", "people", "merges", "splits"],
        [(day.isoformat(), *values) for day, *values in _rows(
            client, "identity.identity_summary", IDENTITY_TREND_SQL, run_date)],
    )  # fmt: skip
    tables = [
        Table("identity__blocked", "Blocked ids by reason", ["reason", "id_type", "ids"],
              _rows(client, "identity.identity_blocked", BLOCKED_SQL, run_date)),
        Table("identity__merges", "Largest merges (people absorbed into another one_id)",
              ["surviving_one_id", "merged_one_id", "merged_ids"],
              _rows(client, "identity.identity_merges", MERGES_SQL, run_date)),
        Table("identity__splits", "Largest splits (parts of a person moved to another one_id)",
              ["original_one_id", "new_one_id", "moved_ids"],
              _rows(client, "identity.identity_splits", SPLITS_SQL, run_date)),
        trend,
    ]  # fmt: skip
    charts = []
    if len(trend.rows) > 1:
        charts.append(Chart("People per night", "trend", trend.column("run_date"), {"people": trend.column("people")}))
    return Section("identity", "Identity", headline, tables, charts)


# ---------------------------------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------------------------------

SEGMENT_CHANGES_SQL = """
SELECT segment, members, entered, exited, previous_date
FROM audience.segment_changes
WHERE run_date = {d:Date}
ORDER BY segment
"""
SEGMENT_TREND_SQL = """
SELECT run_date, segment, members, entered, exited FROM audience.segment_changes
WHERE run_date BETWEEN {since:Date} AND {d:Date} ORDER BY run_date, segment
"""


def segments(client, run_date: date) -> Section:
    today = [
        (segment, members, entered, exited, previous.isoformat() if previous else "")
        for segment, members, entered, exited, previous in _rows(
            client, "audience.segment_changes", SEGMENT_CHANGES_SQL, run_date
        )
    ]
    sizes = Table(
        "segments__today", "Members today; entered and exited since the segment's previous run",
        ["segment", "members", "entered", "exited", "previous_date"], today,
    )  # fmt: skip
    history = [
        (day.isoformat(), *values)
        for day, *values in _rows(client, "audience.segment_changes", SEGMENT_TREND_SQL, run_date)
    ]
    trend = Table(
        "segments__trend", f"Per segment, last {TREND_DAYS} nights",
        ["run_date", "segment", "members", "entered", "exited"], history,
    )  # fmt: skip
    headline = {}
    if today:
        headline = {
            "segments": len(today),
            "members": sum(row[1] for row in today),
            "entered": sum(row[2] for row in today),
            "exited": sum(row[3] for row in today),
        }
    charts = []
    if today:
        charts.append(
            Chart("Members per segment", "bars", sizes.column("segment"), {"members": sizes.column("members")})
        )
    days = sorted({row[0] for row in history})
    if days:
        entered = {day: 0 for day in days}
        exited = {day: 0 for day in days}
        for day, _, _, came, left in history:
            entered[day] += came
            exited[day] += left
        charts.append(
            Chart("Entered and exited per night (all segments)", "trend", days,
                  {"entered": list(entered.values()), "exited": list(exited.values())})
        )  # fmt: skip
    return Section("segments", "Segments", headline, [sizes, trend], charts)


# ---------------------------------------------------------------------------------------------------------------
# Campaign funnels: segment -> suppressed -> capped -> arbitrated -> stopped -> holdout -> no channel -> budget ->
# contacted. Every (campaign, candidate) pair ends as one audience row or one exclusion row (spark_jobs/audience.py),
# so the steps add up to the candidates.
# ---------------------------------------------------------------------------------------------------------------

# Exclusion reason -> funnel step, in the audiences job's order (spark_jobs.audience.STEPS; a test keeps them in
# step). A reason not listed is a person suppression rule from segments/policy.yml (complaint, blacklisted, ...).
SUPPRESSED = "suppressed"
REASON_STEPS: dict[str, str] = {
    "no_profile": SUPPRESSED,
    "internal_test_account": SUPPRESSED,
    "campaign_frequency_cap": "capped",
    "benefit_cap": "capped",
    "frequency_cap": "capped",
    "arbitration": "arbitrated",
    "circuit_open": "stopped (loss alert)",
    "no_reachable_channel": "no reachable channel",
    "budget": "over budget",
}
HOLDOUT_STEP = "holdout (kept back)"
FUNNEL_STEPS = (
    SUPPRESSED, "capped", "arbitrated", "stopped (loss alert)", HOLDOUT_STEP, "no reachable channel", "over budget",
)  # fmt: skip
HOLDOUT_VARIANT = "holdout"

EXCLUSIONS_SQL = """
SELECT campaign_id, variant, channel, reason, count() FROM audience.exclusions WHERE run_date = {d:Date}
GROUP BY campaign_id, variant, channel, reason ORDER BY campaign_id, variant, channel, reason
"""
AUDIENCE_SQL = """
SELECT campaign_id, variant, channel, count(), sum(cost_fen) FROM audience.campaign_audience
WHERE run_date = {d:Date} GROUP BY campaign_id, variant, channel ORDER BY campaign_id, variant, channel
"""
CONTACTED = "contacted"
NO_VALUE = "-"  # no channel (none open, or the kept holdout), or no arm (rows older than the arm column)


def _funnel_steps(lost: dict[str, int], contacted: int) -> list[tuple[str, int, int]]:
    """(step, people lost there, people left after it), from the candidates down to the contacted people."""
    remaining = candidates = sum(lost.values()) + contacted
    steps = [("segment candidates", 0, candidates)]
    for step in FUNNEL_STEPS:
        remaining -= lost.get(step, 0)
        steps.append((step, lost.get(step, 0), remaining))
    steps.append((CONTACTED, 0, remaining))
    return steps


def campaigns(client, run_date: date) -> Section:
    # (campaign, arm, channel) -> funnel step -> people lost there; the contacted people under CONTACTED
    groups: dict[tuple[str, str, str], dict[str, int]] = {}
    for campaign, variant, channel, reason, count in _rows(client, "audience.exclusions", EXCLUSIONS_SQL, run_date):
        lost = groups.setdefault((campaign, variant or NO_VALUE, channel or NO_VALUE), {})
        step = REASON_STEPS.get(reason, SUPPRESSED)
        lost[step] = lost.get(step, 0) + count
    breakdown = _rows(client, "audience.campaign_audience", AUDIENCE_SQL, run_date)
    for campaign, variant, channel, people, _ in breakdown:
        lost = groups.setdefault((campaign, variant, channel or NO_VALUE), {})
        step = HOLDOUT_STEP if variant == HOLDOUT_VARIANT or not channel else CONTACTED
        lost[step] = lost.get(step, 0) + people

    per_campaign: dict[str, dict[str, int]] = {}
    for (campaign, _, _), lost in groups.items():
        total = per_campaign.setdefault(campaign, {})
        for step, people in lost.items():
            total[step] = total.get(step, 0) + people
    contacted = {campaign: lost.pop(CONTACTED, 0) for campaign, lost in per_campaign.items()}

    funnel_rows, charts = [], []
    for campaign in sorted(per_campaign):
        steps = _funnel_steps(per_campaign[campaign], contacted[campaign])
        funnel_rows += [(campaign, step, out, left) for step, out, left in steps]
        charts.append(Chart(f"Funnel: {campaign}", "bars", [s[0] for s in steps], {"people": [s[2] for s in steps]}))
    funnel = Table("campaigns__funnel", "Funnel per campaign (people lost at each step, people left)",
                   ["campaign_id", "step", "lost", "remaining"], funnel_rows)  # fmt: skip
    arm_rows = [
        (campaign, variant, channel, sum(lost.values()), *[lost.get(step, 0) for step in (*FUNNEL_STEPS, CONTACTED)])
        for (campaign, variant, channel), lost in sorted(groups.items())
    ]
    by_arm = Table(
        "campaigns__funnel_by_arm",
        "Funnel per variant and channel (people lost at each step; channel: the first one still open to the person "
        "when they left, '-' for none and for the kept holdout)",
        ["campaign_id", "variant", "channel", "candidates", *FUNNEL_STEPS, CONTACTED], arm_rows,
    )  # fmt: skip
    variants = Table(
        "campaigns__variants", "Planned per variant and channel (holdout: recorded, never contacted)",
        ["campaign_id", "variant", "channel", "people", "cost_yuan"],
        [(c, v, ch or "-", people, yuan(cost)) for c, v, ch, people, cost in breakdown],
    )  # fmt: skip
    headline = {}
    if funnel_rows:
        candidates = [row[3] for row in funnel_rows if row[1] == "segment candidates"]
        headline = {
            "campaigns": len(candidates),
            "candidates": sum(candidates),
            "contacted": sum(contacted.values()),
            "holdout": sum(steps.get(HOLDOUT_STEP, 0) for steps in per_campaign.values()),
            "cost (yuan)": yuan(sum(cost for *_, cost in breakdown)),
        }
    return Section("campaigns", "Campaign funnels", headline, [funnel, by_arm, variants], charts)


# ---------------------------------------------------------------------------------------------------------------
# Reconciliation and loss alerts
# ---------------------------------------------------------------------------------------------------------------

RECONCILIATION_SQL = """
SELECT campaign_id, class, sum(keys), sum(planned_fen), sum(granted_fen)
FROM audience.reconciliation WHERE run_date = {d:Date}
GROUP BY campaign_id, class ORDER BY campaign_id, class
"""
MAKE_UPS_SQL = """
SELECT campaign_id, count(), sum(planned_fen) FROM audience.replenishment WHERE run_date = {d:Date}
GROUP BY campaign_id ORDER BY campaign_id
"""
REFUSALS_SQL = """
SELECT campaign_id, reason, count() FROM audience.replenishment_refusals WHERE run_date = {d:Date}
GROUP BY campaign_id, reason ORDER BY campaign_id, reason
"""
ALERTS_SQL = """
SELECT campaign_id, monitor, severity, money_at_risk_fen, keys, detail FROM audience.loss_alerts
WHERE run_date = {d:Date} ORDER BY severity = 'critical' DESC, campaign_id, monitor
"""
SETTLED_CLASSES = ("ok", "pending", "replenished")  # everything else is a key someone has to look at


def reconciliation(client, run_date: date) -> Section:
    per_campaign = _rows(client, "audience.reconciliation", RECONCILIATION_SQL, run_date)
    by_class: dict[str, list[int]] = {}
    for _, klass, keys, planned, granted in per_campaign:
        totals = by_class.setdefault(klass, [0, 0, 0])
        for i, value in enumerate((keys, planned, granted)):
            totals[i] += value
    classes = Table(
        "reconciliation__classes", "Keys and money per class (every key handed over inside the lag window)",
        ["class", "keys", "planned_yuan", "granted_yuan"],
        [(klass, keys, yuan(planned), yuan(granted)) for klass, (keys, planned, granted) in sorted(by_class.items())],
    )  # fmt: skip
    campaigns_table = Table(
        "reconciliation__per_campaign", "Per campaign and class",
        ["campaign_id", "class", "keys", "planned_yuan", "granted_yuan"],
        [(c, k, keys, yuan(p), yuan(g)) for c, k, keys, p, g in per_campaign],
    )  # fmt: skip
    make_ups = _rows(client, "audience.replenishment", MAKE_UPS_SQL, run_date)
    make_up_table = Table("reconciliation__make_ups", "Make-up orders (补单) decided tonight",
                          ["campaign_id", "orders", "planned_yuan"],
                          [(c, n, yuan(fen)) for c, n, fen in make_ups])  # fmt: skip
    refusals = Table("reconciliation__refusals", "Keys that could not be made up, and why",
                     ["campaign_id", "reason", "keys"],
                     _rows(client, "audience.replenishment_refusals", REFUSALS_SQL, run_date))  # fmt: skip
    headline = {}
    if per_campaign:
        headline = {
            "keys": sum(v[0] for v in by_class.values()),
            "keys to act on": sum(v[0] for k, v in by_class.items() if k not in SETTLED_CLASSES),
            "planned (yuan)": yuan(sum(v[1] for v in by_class.values())),
            "granted (yuan)": yuan(sum(v[2] for v in by_class.values())),
            "make-up orders": sum(n for _, n, _ in make_ups),
        }
    charts = [Chart("Keys per class", "bars", classes.column("class"), {"keys": classes.column("keys")})]
    return Section("reconciliation", "Reconciliation (对账)", headline,
                   [classes, campaigns_table, make_up_table, refusals], charts if classes.rows else [])  # fmt: skip


def loss_alerts(client, run_date: date) -> Section:
    alerts = _rows(client, "audience.loss_alerts", ALERTS_SQL, run_date)
    table = Table(
        "loss_alerts__alerts", "Loss alerts (资损监控): a critical one stops its campaign until `nightshift campaign "
        "resume`", ["campaign_id", "monitor", "severity", "money_at_risk_yuan", "keys", "detail"],
        [(c, m, s, yuan(money), keys, detail) for c, m, s, money, keys, detail in alerts],
    )  # fmt: skip
    headline = {
        "alerts": len(alerts),
        "critical": sum(1 for alert in alerts if alert[2] == "critical"),
        "money at risk (yuan)": yuan(sum(alert[3] for alert in alerts)),
    }
    return Section("loss_alerts", "Loss alerts", headline, [table], alarm=bool(alerts))
