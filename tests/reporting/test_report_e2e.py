"""The report the nightly pipeline wrote for the shared generated world (`nightly_world`: 1,000 people, the whole
pipeline for one night), checked against the warehouse with independent SQL, and rendered by headless Chromium.

No pipeline run of its own: the session fixture already ran the report stage (the suite pays for it once).
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import NIGHTLY_WORLD_RUN_DATE, run_cli, run_python
from tests.reporting.png import read_png_rows

RUN_DATE = NIGHTLY_WORLD_RUN_DATE
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")  # fmt: skip
SECTIONS = {"run", "ingestion", "quality", "identity", "segments", "campaigns", "exports", "reconciliation",
            "loss_alerts", "measurement"}  # fmt: skip

# Every section's headline figures, recomputed from the warehouse (and the export manifests and dbt's results)
# with queries written for the test: latest ingestion batch by LIMIT BY, members from the membership table,
# contacts from contact_history, and the stage log as of the moment the report was written.
EXPECTED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client

    settings, client = get_settings(), get_client()
    day = sys.argv[1]
    written = json.loads((settings.reports_dir / day / "headlines.json").read_text())
    p = {"d": day, "g": written["generated_at"]}

    def one(sql):
        return client.query(sql, parameters=p).result_rows[0]

    expected = {}
    stages, failed, millis, rows = one(
        "SELECT count(), countIf(status != 'success'), sum(ms), sum(written) FROM ("
        " SELECT stage, status, dateDiff('millisecond', started_at, finished_at) AS ms,"
        "  arraySum(JSONExtractKeysAndValues(rows_json, 'Int64').2) AS written FROM ops.stage_runs"
        " WHERE run_date = {d:Date} AND finished_at <= parseDateTime64BestEffort({g:String}, 3)"
        " ORDER BY finished_at DESC LIMIT 1 BY stage)")
    expected["run"] = {"stages": stages, "failed": failed, "seconds": millis / 1000, "rows written": rows}

    latest = ("WITH latest AS (SELECT source, entity, batch_id FROM ops.ingestion_summary WHERE run_date = {d:Date}"
              " ORDER BY ingested_at DESC LIMIT 1 BY source, entity) ")
    files, lines, loaded, duplicates, quarantined, late, drift = one(
        latest + "SELECT count(), sum(lines), sum(loaded), sum(duplicates), sum(quarantined), sum(late_rows),"
        " sum(drift_rows) FROM ops.ingestion_summary AS s INNER JOIN latest USING (source, entity, batch_id)"
        " WHERE s.run_date = {d:Date}")
    expected["ingestion"] = {"files": files, "lines": lines, "loaded": loaded, "duplicates": duplicates,
                             "quarantined": quarantined}

    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    assert results["metadata"]["env"]["NIGHTSHIFT_RUN_DATE"] == day, results["metadata"]
    tests = [r for r in results["results"] if r["unique_id"].split(".")[0] in ("test", "unit_test")]
    passed = sum(1 for r in tests if r["status"] == "pass")
    (quarantine_rows,) = one("SELECT count() FROM raw.quarantine WHERE _drop_date = {d:Date}")
    expected["quality"] = {"dbt tests": len(tests), "dbt tests passed": passed,
                           "dbt tests not passed": len(tests) - passed, "quarantine rows": quarantine_rows,
                           "late rows": late, "drift rows": drift}
    gated, gate_failed = one("SELECT uniqExact(campaign_id), uniqExactIf(campaign_id, success = 0)"
                             " FROM audience.quality_gate WHERE run_date = {d:Date}")
    if gated:
        expected["quality"] |= {"export gate campaigns": gated, "export gate failed": gate_failed}

    people, ids, largest = one(
        "SELECT uniqExact(one_id), count(), max(n) FROM (SELECT one_id, count() OVER (PARTITION BY one_id) AS n"
        " FROM identity.identity_map_daily WHERE run_date = {d:Date})")
    (edges,) = one("SELECT edges FROM identity.identity_summary WHERE run_date = {d:Date}")
    (merges,) = one("SELECT count() FROM identity.identity_merges WHERE run_date = {d:Date}")
    (splits,) = one("SELECT count() FROM identity.identity_splits WHERE run_date = {d:Date}")
    (blocked,) = one("SELECT count() FROM identity.identity_blocked WHERE run_date = {d:Date}")
    expected["identity"] = {"people": people, "ids": ids, "edges": edges, "merges": merges, "splits": splits,
                            "blocked ids": blocked, "largest person (ids)": largest}

    (members,) = one("SELECT count() FROM audience.segment_membership WHERE run_date = {d:Date}")
    segments, entered, exited = one(
        "SELECT count(), sum(entered), sum(exited) FROM audience.segment_changes WHERE run_date = {d:Date}")
    expected["segments"] = {"segments": segments, "members": members, "entered": entered, "exited": exited}

    campaigns, candidates = one(
        "SELECT uniqExact(campaign_id), count() FROM (SELECT campaign_id FROM audience.campaign_audience"
        " WHERE run_date = {d:Date} UNION ALL SELECT campaign_id FROM audience.exclusions WHERE run_date = {d:Date})")
    contacted, holdout, cost = one(
        "SELECT countIf(variant != 'holdout'), countIf(variant = 'holdout'), sum(cost_fen)"
        " FROM audience.campaign_audience WHERE run_date = {d:Date}")
    expected["campaigns"] = {"campaigns": campaigns, "candidates": candidates, "contacted": contacted,
                             "holdout": holdout, "cost (yuan)": cost / 100}

    manifests = [json.loads(m.read_text()) for m in (settings.exports_dir / day).glob("*.manifest.json")]
    (recorded,) = one("SELECT count() FROM audience.contact_history WHERE run_date = {d:Date}")
    expected["exports"] = {"files": len(manifests), "rows": sum(m["rows"] for m in manifests),
                           "campaign rows": recorded, "contacts recorded": recorded}
    earlier = sorted(path for path in settings.exports_dir.glob("????-??-??") if path.name < day)
    if earlier:
        expected["exports"]["rows last night"] = sum(json.loads(m.read_text())["rows"]
                                                     for m in earlier[-1].glob("*.manifest.json"))
    # sealed channel deliveries: a folder per campaign and channel (or ad platform), each with _SUCCESS
    sealed = list((settings.exports_dir / day).glob("*/*/_SUCCESS"))
    if sealed:
        expected["exports"] |= {"deliveries": len(sealed), "deliveries not sealed": 0}

    keys, acted, planned, granted = one(
        "SELECT sum(keys), sumIf(keys, class NOT IN ('ok', 'pending', 'replenished')), sum(planned_fen),"
        " sum(granted_fen) FROM audience.reconciliation WHERE run_date = {d:Date}")
    (make_ups,) = one("SELECT count() FROM audience.replenishment WHERE run_date = {d:Date}")
    expected["reconciliation"] = {} if not keys else {"keys": keys, "keys to act on": acted,
        "planned (yuan)": planned / 100, "granted (yuan)": granted / 100, "make-up orders": make_ups}
    alerts, critical, money = one("SELECT count(), countIf(severity = 'critical'), sum(money_at_risk_fen)"
                                  " FROM audience.loss_alerts WHERE run_date = {d:Date}")
    expected["loss_alerts"] = {"alerts": alerts, "critical": critical, "money at risk (yuan)": money / 100}
    # a comparison per variant and send date whose holdout and treated total both have two planned people or more
    (rows,) = one("SELECT least(count(), 500) FROM marts.campaign_measurement WHERE send_date <= {d:Date}")
    (comparisons,) = one(
        "SELECT count() FROM (SELECT campaign_id, send_date, variant, sum(planned_people) AS people"
        " FROM marts.campaign_measurement WHERE send_date <= {d:Date} AND variant != 'holdout'"
        " GROUP BY ALL) AS t INNER JOIN (SELECT campaign_id, send_date, sum(planned_people) AS held"
        " FROM marts.campaign_measurement WHERE variant = 'holdout' GROUP BY ALL) AS h USING (campaign_id, send_date)"
        " WHERE t.people >= 2 AND h.held >= 2")
    expected["measurement"] = {} if not rows else {
        "rows": rows, "comparisons": comparisons, "significant": written["sections"]["measurement"]["significant"]}
    print("RESULT " + json.dumps({"expected": expected, "written": written}, default=str))
    """
)


def _result(output: str) -> dict:
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))


@pytest.fixture(scope="module")
def report_dir(nightly_world) -> Path:
    directory = nightly_world / "reports" / RUN_DATE
    assert (directory / "index.html").exists(), sorted(p.name for p in directory.glob("*"))
    return directory


@pytest.fixture(scope="module")
def figures(nightly_world, report_dir) -> dict:
    return _result(run_python(nightly_world, EXPECTED_SCRIPT, RUN_DATE))


@pytest.mark.slow
def test_every_sections_headline_equals_the_warehouse(figures):
    expected, written = figures["expected"], figures["written"]["sections"]
    assert set(written) == SECTIONS
    assert expected["run"]["stages"] >= 7 and expected["run"]["failed"] == 0
    assert expected["ingestion"]["loaded"] > 0 and expected["identity"]["people"] > 0
    assert expected["segments"]["members"] > 0 and expected["campaigns"]["contacted"] > 0
    assert expected["quality"]["dbt tests"] > 0
    for key in SECTIONS:
        got, want = written[key], expected[key]
        if key == "run":  # the report rounds each stage's seconds to 0.1
            assert got.pop("seconds") == pytest.approx(want.pop("seconds"), abs=0.05 * got["stages"] + 0.01)
        assert got == want, key


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed: run `make browser`")
def test_chromium_renders_the_page_with_the_warehouse_numbers(report_dir, figures, tmp_path):
    page = (report_dir / "index.html").as_uri()
    screenshot = tmp_path / "report.png"
    shot = _chromium(f"--screenshot={screenshot}", "--window-size=1280,2000", page, profile=tmp_path / "profile")
    assert screenshot.exists(), shot.stderr[-2000:]
    pixels = read_png_rows(screenshot, max_rows=1200)[..., :3]
    colours = {tuple(p) for p in pixels[::8, ::8].reshape(-1, 3).tolist()}
    assert pixels.std() > 20 and len(colours) > 50, (pixels.std(), len(colours))  # a blank page has ~1 colour

    dom = _chromium("--dump-dom", page, profile=tmp_path / "profile").stdout
    text = unescape(re.sub(r"<[^>]+>", " ", dom))
    assert "Nightshift nightly report" in text and RUN_DATE in text
    expected = figures["expected"]
    for key, label in (("ingestion", "loaded"), ("identity", "people"), ("segments", "members"),
                       ("campaigns", "contacted"), ("exports", "rows"), ("quality", "dbt tests")):  # fmt: skip
        shown = f"{expected[key][label]:,}"
        assert re.search(rf'data-figure="{key}:{re.escape(label)}">{shown}<', dom), (key, label, shown)
        assert shown in text
    # nothing to run or fetch: no scripts, stylesheets or remote sources (SVG's xmlns is a name, not a fetch)
    assert not re.search(r"<script|<link|@import|url\(|(src|href)=\"(https?:)?//", dom, re.IGNORECASE)


@pytest.mark.slow
def test_summary_and_csvs_sit_beside_the_page(report_dir, figures):
    summary = (report_dir / "summary.md").read_text(encoding="utf-8").splitlines()
    assert 10 <= len(summary) <= 15, summary
    people = figures["expected"]["identity"]["people"]
    assert any(line.startswith(f"- Identity: {people:,} people") for line in summary), summary
    assert summary[-1] == f"Report: {report_dir / 'index.html'}"
    stages = (report_dir / "run__stages.csv").read_text().splitlines()
    assert stages[0].startswith("stage,status,") and len(stages) - 1 == figures["expected"]["run"]["stages"]
    assert (report_dir / "nightly_report.txt").read_text().startswith(f"Nightshift nightly report for {RUN_DATE}")


@pytest.mark.slow
def test_report_open_prints_the_path(nightly_world, report_dir):
    latest = run_cli(nightly_world, "report", "open").stdout.strip()
    assert latest == str(report_dir / "index.html")
    assert run_cli(nightly_world, "report", "open", "--date", RUN_DATE).stdout.strip() == latest
    missing = run_cli(nightly_world, "report", "open", "--date", "2001-01-01", check=False)
    assert missing.returncode == 1 and "No report for 2001-01-01" in missing.stderr
