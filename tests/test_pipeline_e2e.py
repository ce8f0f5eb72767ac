"""The whole nightly pipeline on a generated world, run twice for the same date in a separate installation.

Acceptance: re-running `nightshift run` for a date leaves identical table contents and byte-identical exports.
`ops.*` is excluded on purpose: it is the operational log (every execution adds a row to ops.stage_runs).
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import pytest

from tests.conftest import NIGHTLY_WORLD_RUN_DATE, run_cli, run_python

RUN_DATE = NIGHTLY_WORLD_RUN_DATE

FINGERPRINT_SCRIPT = textwrap.dedent(
    """
    import json
    from nightshift.warehouse import get_client
    client = get_client()
    tables = client.query(
        "SELECT database, name FROM system.tables WHERE database IN ('raw', 'staging', 'intermediate', 'marts', "
        "'audience', 'snapshots') AND engine NOT IN ('View', 'MaterializedView') ORDER BY database, name"
    ).result_rows
    prints = {}
    for database, name in tables:
        columns = [c for (c,) in client.query(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} "
            "AND name NOT IN ('_ingested_at', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_scd_id') "
            "ORDER BY position", parameters={"d": database, "t": name}).result_rows]
        hashed = ", ".join(f"`{c}`" for c in columns)
        count, digest = client.query(
            f"SELECT count(), sum(cityHash64({hashed})) FROM `{database}`.`{name}`").result_rows[0]
        prints[f"{database}.{name}"] = [count, str(digest)]
    print(json.dumps(prints))
    """
)


def _fingerprint_tables(home: Path) -> dict:
    return json.loads(run_python(home, FINGERPRINT_SCRIPT).strip().splitlines()[-1])


def _fingerprint_exports(home: Path) -> dict:
    export_dir = home / "exports" / RUN_DATE
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(export_dir.iterdir())}


@pytest.fixture(scope="module")
def pipeline_home(nightly_world) -> Path:
    return nightly_world


@pytest.mark.slow
def test_rerunning_a_date_leaves_identical_tables_and_exports(pipeline_home):
    tables_first = _fingerprint_tables(pipeline_home)
    exports_first = _fingerprint_exports(pipeline_home)
    assert tables_first["marts.user_profile"][0] > 0
    assert tables_first["audience.segment_membership"][0] > 0
    assert any(name.endswith(".csv") for name in exports_first)
    assert any(name.endswith(".manifest.json") for name in exports_first)

    run_cli(pipeline_home, "run", "--date", RUN_DATE)

    assert _fingerprint_tables(pipeline_home) == tables_first
    assert _fingerprint_exports(pipeline_home) == exports_first


@pytest.mark.slow
def test_export_manifest_describes_its_file(pipeline_home):
    export_dir = pipeline_home / "exports" / RUN_DATE
    manifests = sorted(export_dir.glob("*.manifest.json"))
    assert manifests
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        data = (export_dir / manifest["file"]).read_bytes()
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["rows"] == data.count(b"\n") - 1  # header line excluded
        assert manifest["run_date"] == RUN_DATE
    report = (pipeline_home / "reports" / RUN_DATE / "nightly_report.txt").read_text()
    assert "Exports in" in report
    ingestion = report.split("Ingestion (latest load", 1)[1].split("\n\n", 1)[0]
    sources = {line.split()[0] for line in ingestion.splitlines()[2:]}
    assert {"app", "orders", "wechat_oa", "consent"} <= sources  # every simulated source was ingested
    assert "quarantined" in ingestion


def _report_section(report: str, title: str) -> list[str]:
    """Body lines of the report section whose title starts with `title` (after its rule line)."""
    section = report.split("\n" + title, 1)[1].split("\n\n", 1)[0]
    return section.splitlines()[2:]


@pytest.mark.slow
def test_report_counts_agree_with_the_exported_files(pipeline_home):
    """Operations read the report next to the files: its segment sizes and per-channel campaign contacts must be
    the row counts of the exported files, and its campaign lines must add up."""
    export_dir = pipeline_home / "exports" / RUN_DATE
    rows = {
        manifest["file"]: manifest["rows"]
        for manifest in (json.loads(path.read_text()) for path in export_dir.glob("*.manifest.json"))
    }
    report = (pipeline_home / "reports" / RUN_DATE / "nightly_report.txt").read_text()

    segments = _report_section(report, "Segments")
    assert segments and segments != ["(none)"]
    for line in segments:
        name, members = re.match(r"(\S+)\s+([\d,]+) people  \+[\d,]+ / -[\d,]+ \(", line).groups()
        assert int(members.replace(",", "")) == rows[f"{name}.csv"], line

    campaigns = _report_section(report, "Campaigns")
    contact_lines = [line for line in campaigns if " contacts " in line]
    assert contact_lines
    for line in contact_lines:
        campaign, total, channels = re.match(r"(\S+)\s+contacts\s+([\d,]+) \((.*)\);", line).groups()
        by_channel = {c.rsplit(" ", 1)[0]: int(c.rsplit(" ", 1)[1].replace(",", "")) for c in channels.split(", ")}
        assert sum(by_channel.values()) == int(total.replace(",", "")), line
        for channel, count in by_channel.items():
            assert rows[f"campaign__{campaign}__{channel}.csv"] == count, line
    exported_campaigns = {name.split("__")[1] for name in rows if name.startswith("campaign__")}
    assert exported_campaigns <= {line.split()[0] for line in contact_lines}
