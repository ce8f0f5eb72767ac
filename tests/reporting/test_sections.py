"""The report's sections on small inline data in the session's warehouse: a campaign funnel that adds up, loss
alerts first and in red, reconciliation money, exports against last night, the measurement hook, and a run whose
deliveries fail but whose report stage still succeeds.

The rows use dates in 2001 and a campaign id no plan has, so nothing else in the session reads them; they are
removed afterwards.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime

import pytest

from nightshift.files import write_with_manifest
from nightshift.reporting import gather
from nightshift.reporting.html import render_html
from nightshift.reporting.measurement import measurement
from nightshift.reporting.outputs import build_report
from nightshift.reporting.summary import render_summary
from nightshift.stages import report as report_stage
from nightshift.stages.context import StageContext
from nightshift.warehouse.schema import ensure_tables

NIGHT, LAST_NIGHT = date(2001, 3, 1), date(2001, 2, 28)
CAMPAIGN = "report_test_campaign"
TABLES = (
    "audience.exclusions", "audience.campaign_audience", "audience.reconciliation", "audience.loss_alerts",
    "audience.replenishment", "audience.replenishment_refusals", "audience.segment_changes",
)  # fmt: skip
EXCLUSIONS = {"complaint": 2, "no_profile": 1, "frequency_cap": 3, "arbitration": 1, "no_reachable_channel": 1,
              "budget": 2}  # fmt: skip
AUDIENCE = [("holdout", "", 0)] * 2 + [("A", "app_push", 500)] * 3 + [("B", "sms", 500)]


@pytest.fixture(scope="module")
def night(client, settings):
    ensure_tables(client, *TABLES)
    one_ids = iter(range(1, 1000))
    # arms and channels of the people left out: the first of each reason in arm B (by sms), the others in A
    client.insert("audience.exclusions", [(NIGHT, CAMPAIGN, next(one_ids), reason, "B" if k == 0 else "A",
                                           "sms" if k == 0 else "")
                                          for reason, n in EXCLUSIONS.items() for k in range(n)],
                  column_names=["run_date", "campaign_id", "one_id", "reason", "variant", "channel"])  # fmt: skip
    send_at = datetime(2001, 3, 1, 2, 0)
    client.insert(
        "audience.campaign_audience",
        [(NIGHT, CAMPAIGN, next(one_ids), f"c{n}", variant, channel, "", send_at, "coupon", cost)
         for n, (variant, channel, cost) in enumerate(AUDIENCE)],
        column_names=["run_date", "campaign_id", "one_id", "contact_id", "variant", "channel", "contact_ref",
                      "send_at", "benefit_id", "cost_fen"],
    )  # fmt: skip
    client.insert("audience.reconciliation",
                  [(NIGHT, LAST_NIGHT, CAMPAIGN, "ok", 5, 2500, 2500),
                   (NIGHT, LAST_NIGHT, CAMPAIGN, "duplicate_grant", 1, 500, 1000),
                   (NIGHT, LAST_NIGHT, CAMPAIGN, "pending", 2, 1000, 0)],
                  column_names=["run_date", "business_date", "campaign_id", "class", "keys", "planned_fen",
                                "granted_fen"])  # fmt: skip
    client.insert("audience.loss_alerts",
                  [(NIGHT, CAMPAIGN, "duplicate_grant", "critical", 500, 1, "1 contact granted twice")],
                  column_names=["run_date", "campaign_id", "monitor", "severity", "money_at_risk_fen", "keys",
                                "detail"])  # fmt: skip
    client.insert("audience.replenishment", [(NIGHT, "m1", "c9", LAST_NIGHT, CAMPAIGN, "sms", 7, "coupon", 500)],
                  column_names=["run_date", "contact_id", "replenishes", "business_date", "campaign_id", "channel",
                                "one_id", "benefit_id", "planned_fen"])  # fmt: skip
    client.insert("audience.replenishment_refusals", [(NIGHT, "c8", CAMPAIGN, "over_budget")],
                  column_names=["run_date", "contact_id", "campaign_id", "reason"])  # fmt: skip
    client.insert("audience.segment_changes",
                  [(LAST_NIGHT, "report_seg_a", None, 8, 8, 0), (NIGHT, "report_seg_a", LAST_NIGHT, 10, 3, 1),
                   (NIGHT, "report_seg_b", None, 5, 5, 0)],
                  column_names=["run_date", "segment", "previous_date", "members", "entered", "exited"])  # fmt: skip
    for day, rows in (
        (LAST_NIGHT, {"report_seg_a.csv": 8}),
        (NIGHT, {"report_seg_a.csv": 10, f"campaign__{CAMPAIGN}__app_push.csv": 3}),
    ):
        for name, count in rows.items():
            data = ("one_id\n" + "".join(f"{n}\n" for n in range(count))).encode()
            write_with_manifest(settings.exports_dir / day.isoformat() / name, data, count, {"run_date": str(day)})
    yield NIGHT
    for table in TABLES:
        for day in (NIGHT, LAST_NIGHT):
            client.command(f"ALTER TABLE {table} DROP PARTITION '{day.isoformat()}'")
    client.command("DROP DATABASE IF EXISTS report_test")
    for day in (NIGHT, LAST_NIGHT):
        shutil.rmtree(settings.exports_dir / day.isoformat(), ignore_errors=True)
        shutil.rmtree(settings.reports_dir / day.isoformat(), ignore_errors=True)


def test_every_exclusion_reason_of_the_audiences_job_has_its_funnel_step():
    from spark_jobs.audience import STEPS

    for step, reasons in STEPS:
        for reason in reasons:
            assert reason in gather.REASON_STEPS, f"{reason} ({step}) has no funnel step in nightshift/reporting"


def test_campaign_funnel_per_variant_and_channel_adds_up_to_the_campaigns(client, night):
    by_arm = gather.campaigns(client, night).tables[1]
    assert by_arm.name == "campaigns__funnel_by_arm"
    rows = {row[1:3]: dict(zip(by_arm.columns[3:], row[3:], strict=True)) for row in by_arm.rows
            if row[0] == CAMPAIGN}  # fmt: skip
    assert set(rows) == {("A", "-"), ("A", "app_push"), ("B", "sms"), ("holdout", "-")}
    # arm B by sms: the first person of each of the six reasons, and the one contacted by sms
    assert rows[("B", "sms")] == {
        "candidates": 7, "suppressed": 2, "capped": 1, "arbitrated": 1, "stopped (loss alert)": 0,
        "holdout (kept back)": 0, "no reachable channel": 1, "over budget": 1, "contacted": 1}  # fmt: skip
    assert rows[("A", "-")]["candidates"] == sum(EXCLUSIONS.values()) - len(EXCLUSIONS)
    assert rows[("A", "app_push")]["contacted"] == 3 and rows[("holdout", "-")]["holdout (kept back)"] == 2
    for row in rows.values():  # every row adds up: candidates = the people lost at each step + the contacted
        assert row["candidates"] == sum(people for step, people in row.items() if step != "candidates")
    assert sum(row["candidates"] for row in rows.values()) == sum(EXCLUSIONS.values()) + len(AUDIENCE)


def test_campaign_funnel_adds_up_from_candidates_to_contacted(client, night):
    section = gather.campaigns(client, night)
    funnel = {step: (lost, left) for campaign, step, lost, left in section.tables[0].rows if campaign == CAMPAIGN}
    candidates = sum(EXCLUSIONS.values()) + len(AUDIENCE)
    assert funnel["segment candidates"] == (0, candidates)
    assert funnel["suppressed"] == (3, candidates - 3)  # complaint (a policy rule) and no_profile
    assert funnel["capped"][0] == 3 and funnel["arbitrated"][0] == 1
    assert funnel["holdout (kept back)"][0] == 2 and funnel["no reachable channel"][0] == 1
    assert funnel["over budget"][0] == 2
    assert funnel["contacted"] == (0, 4)
    variants = {(v, ch): (people, cost) for c, v, ch, people, cost in section.tables[2].rows if c == CAMPAIGN}
    assert variants == {("A", "app_push"): (3, 15.0), ("B", "sms"): (1, 5.0), ("holdout", "-"): (2, 0.0)}


def test_reconciliation_and_alert_headlines_equal_the_warehouse(client, night):
    recon = gather.reconciliation(client, night).headline
    keys, acted, planned, granted = client.query(
        "SELECT sum(keys), sumIf(keys, class NOT IN ('ok', 'pending', 'replenished')), sum(planned_fen), "
        "sum(granted_fen) FROM audience.reconciliation WHERE run_date = {d:Date}", parameters={"d": night},
    ).result_rows[0]  # fmt: skip
    assert recon == {"keys": keys, "keys to act on": acted, "planned (yuan)": planned / 100,
                     "granted (yuan)": granted / 100, "make-up orders": 1}  # fmt: skip
    alerts = gather.loss_alerts(client, night)
    count, critical, money = client.query(
        "SELECT count(), countIf(severity = 'critical'), sum(money_at_risk_fen) FROM audience.loss_alerts "
        "WHERE run_date = {d:Date}", parameters={"d": night},
    ).result_rows[0]  # fmt: skip
    assert alerts.alarm and alerts.headline == {"alerts": count, "critical": critical,
                                                "money at risk (yuan)": money / 100}  # fmt: skip


def test_loss_alerts_come_first_and_in_red(client, settings, night):
    report = build_report(client, settings, night)
    assert report.sections[0].key == "loss_alerts"
    page = render_html(report)
    alarm = page.index('<section id="loss_alerts" class="alarm">')
    assert alarm < page.index('<section id="run"') and "1 contact granted twice" in page
    assert "#c53030" in page  # the alarm colour is in the page's own CSS


def test_no_alerts_means_a_quiet_section_after_reconciliation(client, settings, night):
    report = build_report(client, settings, LAST_NIGHT)
    keys = [section.key for section in report.sections]
    assert keys.index("loss_alerts") == keys.index("reconciliation") + 1
    assert report.section("loss_alerts").headline["alerts"] == 0 and not report.section("loss_alerts").alarm
    assert 'class="alarm"' not in render_html(report)


def test_exports_compare_tonight_with_last_night(client, settings, night):
    section = build_report(client, settings, night).section("exports")
    files = {row[0]: row for row in section.tables[0].rows}
    assert files["report_seg_a.csv"][1:4] == (10, 8, 2)
    assert files[f"campaign__{CAMPAIGN}__app_push.csv"][1:4] == (3, None, None)
    assert files[f"campaign__{CAMPAIGN}__app_push.csv"][5] == "new"
    assert (section.headline["files"], section.headline["rows"], section.headline["rows last night"]) == (2, 13, 8)


def test_exports_list_each_sealed_delivery_with_its_diff_and_flag_a_tampered_one(client, settings, night):
    from nightshift.deliveries.manifest import AudienceDiff, seal

    export_dir = settings.exports_dir / night.isoformat()
    for channel, parts in (("sms", [b"a", b"b"]), ("app_push", [b"c"])):
        folder = export_dir / CAMPAIGN / channel
        folder.mkdir(parents=True)
        for index, data in enumerate(parts):
            (folder / f"part-{index:05d}.json").write_bytes(data)
        seal(folder, run_date=night, campaign_id=CAMPAIGN, target=channel, plan_version="v", contacts=3,
             left_out=1, cost_fen=1500, diff=AudienceDiff(LAST_NIGHT, 2, 5, 1))  # fmt: skip
    (export_dir / CAMPAIGN / "app_push" / "part-00000.json").write_bytes(b"changed after sealing")
    try:
        section = build_report(client, settings, night).section("exports")
        deliveries = {row[1]: row for row in section.tables[1].rows}
        assert deliveries["sms"] == (CAMPAIGN, "sms", 3, 1, 2, 15.0, 2, 5, 1, LAST_NIGHT.isoformat(), "ok")
        assert "sha256 differs" in deliveries["app_push"][-1]
        assert (section.headline["deliveries"], section.headline["deliveries not sealed"]) == (2, 1)
    finally:
        shutil.rmtree(export_dir / CAMPAIGN)


def test_the_export_gate_is_in_data_quality_failures_first_with_its_data_docs(client, settings, night, tmp_path):
    ensure_tables(client, "audience.quality_gate")
    client.insert("audience.quality_gate",
                  [(night, "gate_ok", "expect_table_row_count_to_be_between", "table", 1, "12", 0, ""),
                   (night, "gate_bad", "expect_column_values_to_be_in_set", "can_receive", 0, "[0]", 1, "consent")],
                  column_names=["run_date", "campaign_id", "expectation", "target", "success", "observed",
                                "unexpected", "why"])  # fmt: skip
    docs = tmp_path / "index.html"
    docs.write_text("<html></html>")
    try:
        section = gather.data_quality(client, night, settings.home / "no-dbt", docs)
        gate = next(table for table in section.tables if table.name == "quality__export_gate")
        assert [row[:5] for row in gate.rows] == [
            ("gate_bad", "expect_column_values_to_be_in_set", "can_receive", False, 1),
            ("gate_ok", "expect_table_row_count_to_be_between", "table", True, 0)]  # fmt: skip
        assert (section.headline["export gate campaigns"], section.headline["export gate failed"]) == (2, 1)
        assert any(str(docs) in note for note in section.notes)
    finally:
        client.command("DROP TABLE audience.quality_gate")


def test_segments_trend_sums_entered_and_exited_per_night(client, night):
    section = gather.segments(client, night)
    assert section.headline == {"segments": 2, "members": 15, "entered": 8, "exited": 1}
    (trend,) = [chart for chart in section.charts if chart.kind == "trend"]
    assert trend.labels == [LAST_NIGHT.isoformat(), NIGHT.isoformat()]
    assert trend.series == {"entered": [8, 8], "exited": [0, 1]}


def test_measurement_hook_renders_nothing_until_the_mart_exists(client, night):
    assert measurement(client, night, "report_test.campaign_measurement") is None
    client.command("CREATE DATABASE IF NOT EXISTS report_test")
    client.command("CREATE TABLE report_test.campaign_measurement (send_date Date, campaign_id String, "
                   "uplift Float64) ENGINE = MergeTree ORDER BY send_date")  # fmt: skip
    client.insert("report_test.campaign_measurement", [(NIGHT, CAMPAIGN, 0.031), (date(2001, 3, 2), CAMPAIGN, 0.5)])
    section = measurement(client, night, "report_test.campaign_measurement")
    assert section.tables[0].columns == ["send_date", "campaign_id", "uplift"]
    assert section.tables[0].rows == [(NIGHT, CAMPAIGN, 0.031)]  # nothing after the run date


def test_failed_deliveries_are_reported_and_the_stage_still_succeeds(client, settings, night):
    closed = "http://127.0.0.1:9/send"  # the discard port: nothing listens there
    failing = settings.model_copy(update={"report_webhook_url": closed, "report_email_to": "ops@example.com",
                                          "report_smtp_host": "127.0.0.1", "report_smtp_port": 9,
                                          "report_delivery_timeout": 3})  # fmt: skip
    result = report_stage.run(StageContext(run_date=night, settings=failing, _client=client))
    directory = settings.reports_dir / night.isoformat()
    assert "FAILED" in result.summary and "wecom" in result.summary and "email" in result.summary
    assert result.outputs["report"] == str(directory / "index.html")
    outcomes = json.loads((directory / "delivery.json").read_text())
    assert {o["channel"]: o["ok"] for o in outcomes} == {"email": False, "wecom": False}
    page = (directory / "index.html").read_text()
    assert 'id="delivery"' in page and "FAILED" in page
    for name in ("summary.md", "nightly_report.txt", "headlines.json", "campaigns__funnel.csv"):
        assert (directory / name).stat().st_size > 0, name
    summary = (directory / "summary.md").read_text().splitlines()
    assert 10 <= len(summary) <= 15 and "LOSS ALERTS" in summary[2]


def test_a_night_with_nothing_renders_every_section_empty(client, settings):
    empty = date(1999, 1, 1)
    report = build_report(client, settings, empty)
    assert [s.key for s in report.sections if not s.is_empty] == ["loss_alerts"]  # 0 alerts is still a figure
    page = render_html(report)
    assert page.count("(none)") >= 10 and "<script" not in page
    summary = render_summary(report, "link").splitlines()
    assert summary[0] == "## Nightshift 1999-01-01: no stage has run for this date yet"
    assert summary[-1] == "Report: link"


def test_names_from_data_are_escaped_in_the_page(client, settings, night):
    report = build_report(client, settings, night)
    report.section("segments").tables[0].rows.append(("<img src=x onerror=alert(1)>", 1, 1, 0, ""))
    report.section("segments").charts[0].labels[0] = "<b>segment</b>"
    page = render_html(report)
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "<b>segment</b>" not in page and "&lt;b&gt;segment&lt;/b&gt;" in page
